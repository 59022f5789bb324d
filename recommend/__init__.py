"""Value-aware recommendations: candidates, re-ranking, reasons; offline evaluation and marketing lists."""
