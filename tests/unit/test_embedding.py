"""The offline embedder (real USE model), its content-hash cache, its Chroma registration, and the tokenizer."""

from __future__ import annotations

import numpy as np
import pytest
from chromadb.utils.embedding_functions import known_embedding_functions

from domain.settings import Settings
from vectorstore.embedding import EmbeddingCache, ShopEmbeddingFunction, get_embedding_function
from vectorstore.tokenize import tokenize


@pytest.fixture()
def embedder(tmp_path) -> ShopEmbeddingFunction:
    return get_embedding_function(Settings(data_dir=tmp_path, llm="none"))


def test_vectors_are_512_dim_and_normalised(embedder: ShopEmbeddingFunction) -> None:
    vectors = embedder.embed(["适合跑步的轻便鞋", "noise cancelling headphones"])
    assert vectors.shape == (2, 512)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_cross_lingual_neighbours(embedder: ShopEmbeddingFunction) -> None:
    zh, en_same, en_other = embedder.embed(["跑步鞋", "running shoes", "coffee beans"])
    assert zh @ en_same > zh @ en_other


def test_unchanged_text_is_served_from_the_cache(embedder: ShopEmbeddingFunction, tmp_path) -> None:
    texts = ["安克 65W 快充充电器", "Anker 65W fast charger", "安克 65W 快充充电器"]
    first = embedder.embed(texts)
    assert embedder.stats["embedded"] == 2  # the duplicate is embedded once
    second = embedder.embed(texts)
    assert embedder.stats["embedded"] == 2  # nothing new was computed
    np.testing.assert_array_equal(first, second)
    # The cache is on disk: a fresh function over the same file computes nothing either.
    fresh = ShopEmbeddingFunction(cache_path=embedder.cache_path)
    np.testing.assert_allclose(fresh.embed(texts[:2]), first[:2], atol=1e-6)
    assert fresh.stats["embedded"] == 0
    assert len(EmbeddingCache(tmp_path / "cache" / "embeddings.sqlite")) == 2


def test_registered_with_chroma_and_rebuilt_from_config(embedder: ShopEmbeddingFunction) -> None:
    assert known_embedding_functions[ShopEmbeddingFunction.name()] is ShopEmbeddingFunction
    rebuilt = ShopEmbeddingFunction.build_from_config(embedder.get_config())
    assert rebuilt.get_config() == embedder.get_config()
    assert "api_key" not in embedder.get_config()
    vectors = rebuilt(["跑步鞋"])  # the Chroma protocol path
    assert len(vectors) == 1 and len(vectors[0]) == 512


def test_unknown_provider_is_a_clear_error(tmp_path) -> None:
    bad = ShopEmbeddingFunction(provider="nope", cache_path=str(tmp_path / "c.sqlite"))
    with pytest.raises(ValueError, match="unknown embedder"):
        bad.embed(["x"])


def test_openai_embedder_without_url_is_a_clear_error(tmp_path) -> None:
    function = get_embedding_function(Settings(data_dir=tmp_path, llm="none", embedder="openai"))
    with pytest.raises(ValueError, match="OPENAI_BASE_URL"):
        function.embed(["x"])


def test_tokenizer_keeps_model_numbers_whole_and_split() -> None:
    tokens = tokenize("Sony XR-550 降噪耳机")
    assert {"xr-550", "xr550", "xr", "550", "sony"} <= set(tokens)
    assert "降噪" in tokens and "耳机" in tokens


def test_tokenizer_normalises_case_width_punctuation_and_plurals() -> None:
    assert tokenize("ＸＲ－５５０!!") == tokenize("xr-550")
    assert "shoe" in tokenize("Running SHOES, please.")
    assert "please" not in tokenize("Running SHOES, please.")
    assert all(t.strip() and t not in ",.!，。" for t in tokenize("便宜的，手机壳。"))


def test_tokenizer_bridges_chinese_segmentations() -> None:
    # jieba segments 跑鞋 and 跑步鞋 differently; shared characters keep them matchable.
    assert set(tokenize("跑鞋")) & set(tokenize("跑步鞋"))
