"""``tf.keras.preprocessing.text``: the legacy (Keras 1/2) text API that TensorFlow still ships.

``Tokenizer`` builds a word index ordered by frequency (ties keep first-seen order; index 0 is reserved, an
``oov_token`` takes index 1) and turns texts into index sequences or (documents, num_words) matrices;
``text_to_word_sequence``, ``one_hot`` and ``hashing_trick`` are the stateless helpers. Results equal those of
TensorFlow 2 / Keras 3.15.1 (``keras.src.legacy.preprocessing.text``), JSON included, so a tokenizer saved by
either loads in the other. New code would use ``keras.layers.TextVectorization``.

>>> from tapeflow.keras.preprocessing.text import Tokenizer
>>> tok = Tokenizer(num_words=3)
>>> tok.fit_on_texts(["the cat", "the dog"])
>>> tok.word_index, tok.texts_to_sequences(["the cat the bird"])
({'the': 1, 'cat': 2, 'dog': 3}, [[1, 2, 1]])
"""
from __future__ import annotations

import collections
import hashlib
import json
import warnings
from typing import Callable, Iterable, Iterator

import numpy as np

__all__ = ["Tokenizer", "hashing_trick", "one_hot", "text_to_word_sequence", "tokenizer_from_json"]

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
_MODES = ("binary", "count", "tfidf", "freq")


def _check_str(value, name: str, where: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{where}: `{name}` must be a string, got {type(value).__name__} {value!r:.60}; pass one "
                        "document as a str (a list of strings is a list of documents)")


def text_to_word_sequence(input_text: str, filters: str = DEFAULT_FILTERS, lower: bool = True,
                          split: str = " ") -> list[str]:
    """Split a text into words: optionally lower-case, turn every character of ``filters`` into ``split``,
    split on ``split`` and drop empty pieces.

    >>> text_to_word_sequence("Hello, World! It's a test.")
    ['hello', 'world', "it's", 'a', 'test']
    """
    _check_str(input_text, "input_text", "text_to_word_sequence")
    _check_str(split, "split", "text_to_word_sequence")
    if not split:
        raise ValueError("text_to_word_sequence: `split` must be a non-empty separator, got ''; use "
                         "char_level=True on a Tokenizer to split into characters")
    if lower:
        input_text = input_text.lower()
    if filters:
        input_text = input_text.translate(str.maketrans({c: split for c in filters}))
    return [w for w in input_text.split(split) if w]


def _md5(word: str) -> int:
    return int(hashlib.md5(word.encode()).hexdigest(), 16)


def hashing_trick(text: str, n: int, hash_function: Callable[[str], int] | str | None = None,
                  filters: str = DEFAULT_FILTERS, lower: bool = True, split: str = " ",
                  analyzer: Callable[[str], list] | None = None) -> list[int]:
    """Map each word of ``text`` to ``hash_function(word) % (n - 1) + 1``, an index in [1, n).

    ``hash_function`` is a callable, ``"md5"`` (stable across runs) or None for Python's ``hash`` (salted per
    process for strings unless PYTHONHASHSEED is set, so indices change between runs). ``analyzer``, if given,
    replaces ``text_to_word_sequence`` for splitting.

    >>> hashing_trick("The cat sat on the mat.", 10, hash_function="md5")
    [6, 3, 1, 1, 6, 8]
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"hashing_trick: `n` (the hashing space size) must be an integer >= 2, got {n!r}; "
                         "indices fall in [1, n), so take n a little larger than the vocabulary")
    if hash_function is None:
        hash_function = hash
    elif isinstance(hash_function, str):
        if hash_function != "md5":
            raise ValueError(f"hashing_trick: `hash_function` must be a callable, 'md5' or None, got "
                             f"{hash_function!r}")
        hash_function = _md5
    elif not callable(hash_function):
        raise TypeError(f"hashing_trick: `hash_function` must be a callable, 'md5' or None, got "
                        f"{type(hash_function).__name__}")
    words = text_to_word_sequence(text, filters, lower, split) if analyzer is None else analyzer(text)
    return [hash_function(w) % (int(n) - 1) + 1 for w in words]


def one_hot(input_text: str, n: int, filters: str = DEFAULT_FILTERS, lower: bool = True, split: str = " ",
            analyzer: Callable[[str], list] | None = None) -> list[int]:
    """Hash each word of ``input_text`` to an index in [1, n) with Python's ``hash`` (``hashing_trick`` with
    hash_function=None): distinct words may collide, and indices change between processes unless
    PYTHONHASHSEED is fixed.

    >>> a = one_hot("the cat the", 100)
    >>> len(a), a[0] == a[2], all(1 <= i < 100 for i in a)
    (3, True, True)
    """
    return hashing_trick(input_text, n, hash_function=hash, filters=filters, lower=lower, split=split,
                         analyzer=analyzer)


class Tokenizer:
    """Vectorize a corpus into index sequences or bag-of-words matrices (legacy Keras API).

    ``num_words`` keeps only indices below it when converting (the word index itself holds every word seen);
    ``oov_token``, when set, gets index 1 and replaces unknown or cut words. ``char_level`` makes every
    character a token; a document given as a list of strings is taken as already split.

    >>> tok = Tokenizer(oov_token="<unk>")
    >>> tok.fit_on_texts(["a b b", "c b"])
    >>> tok.word_index
    {'<unk>': 1, 'b': 2, 'a': 3, 'c': 4}
    >>> tok.texts_to_sequences(["b z a"]), tok.sequences_to_texts([[2, 9, 3]])
    ([[2, 1, 3]], ['b <unk> a'])
    """

    def __init__(self, num_words: int | None = None, filters: str = DEFAULT_FILTERS, lower: bool = True,
                 split: str = " ", char_level: bool = False, oov_token: str | None = None,
                 analyzer: Callable[[str], list] | None = None, **kwargs):
        if "nb_words" in kwargs:
            warnings.warn("Tokenizer: `nb_words` has been renamed `num_words`", stacklevel=2)
            num_words = kwargs.pop("nb_words")
        document_count = kwargs.pop("document_count", 0)
        if kwargs:
            raise TypeError(f"Tokenizer: unrecognized keyword arguments {sorted(kwargs)}; accepted are num_words, "
                            "filters, lower, split, char_level, oov_token, analyzer (and document_count)")
        if num_words is not None and (isinstance(num_words, bool) or not isinstance(num_words, (int, np.integer))
                                      or num_words < 0):
            raise ValueError(f"Tokenizer: `num_words` must be None or an integer >= 0, got {num_words!r}")
        if analyzer is not None and not callable(analyzer):
            raise TypeError(f"Tokenizer: `analyzer` must be None or a callable text -> list of tokens, got "
                            f"{type(analyzer).__name__}")
        self.num_words = None if num_words is None else int(num_words)
        self.filters = filters
        self.lower = lower
        self.split = split
        self.char_level = char_level
        self.oov_token = oov_token
        self.analyzer = analyzer
        self.document_count = document_count
        self.word_counts: dict = collections.OrderedDict()
        self.word_docs: dict = collections.defaultdict(int)
        self.index_docs: dict = collections.defaultdict(int)
        self.word_index: dict = {}
        self.index_word: dict = {}

    # -- splitting ----------------------------------------------------------------------------------------
    def _tokens(self, text) -> list:
        if isinstance(text, list) or self.char_level:
            if isinstance(text, list):
                return [t.lower() for t in text] if self.lower else list(text)
            _check_str(text, "texts[i]", "Tokenizer")
            return list(text.lower() if self.lower else text)
        if self.analyzer is not None:
            return self.analyzer(text)
        return text_to_word_sequence(text, self.filters, self.lower, self.split)

    @staticmethod
    def _documents(texts, where: str):
        if isinstance(texts, str):
            raise TypeError(f"Tokenizer.{where}: `texts` must be a list of documents, got one string {texts!r:.40}; "
                            "wrap it in a list")
        return texts

    # -- fitting ------------------------------------------------------------------------------------------
    def fit_on_texts(self, texts: Iterable) -> None:
        """Count words over ``texts`` (strings, or lists of tokens) and rebuild ``word_index`` by frequency.

        >>> tok = Tokenizer()
        >>> tok.fit_on_texts(["b a", "a"])
        >>> dict(tok.word_counts), tok.word_index, tok.document_count
        ({'b': 1, 'a': 2}, {'a': 1, 'b': 2}, 2)
        """
        for text in self._documents(texts, "fit_on_texts"):
            self.document_count += 1
            tokens = self._tokens(text)
            for w in tokens:
                self.word_counts[w] = self.word_counts.get(w, 0) + 1
            for w in set(tokens):
                self.word_docs[w] += 1
        # stable sort: equal counts keep the order in which words were first seen
        vocab = sorted(self.word_counts, key=self.word_counts.__getitem__, reverse=True)
        if self.oov_token is not None:
            vocab.insert(0, self.oov_token)
        self.word_index = {}
        for i, w in enumerate(vocab, start=1):   # a later duplicate (the oov token seen as a word) wins, as Keras
            self.word_index[w] = i
        self.index_word = {i: w for w, i in self.word_index.items()}
        for w, c in self.word_docs.items():
            self.index_docs[self.word_index[w]] = c

    def fit_on_sequences(self, sequences: Iterable[Iterable[int]]) -> None:
        """Count, for each index, the sequences holding it (``index_docs``, used by mode="tfidf").

        >>> tok = Tokenizer(num_words=4)
        >>> tok.fit_on_sequences([[1, 2, 2], [2]])
        >>> dict(tok.index_docs), tok.document_count
        ({1: 1, 2: 2}, 2)
        """
        sequences = list(sequences)
        self.document_count += len(sequences)
        for seq in sequences:
            for i in set(np.asarray(seq, dtype=np.int64).ravel().tolist()):
                self.index_docs[i] += 1

    # -- texts <-> sequences ------------------------------------------------------------------------------
    def _oov_index(self):
        return self.word_index.get(self.oov_token) if self.oov_token is not None else None

    def texts_to_sequences_generator(self, texts: Iterable) -> Iterator[list[int]]:
        """Yield, per text, the indices of its words (see ``texts_to_sequences``).

        >>> tok = Tokenizer()
        >>> tok.fit_on_texts(["x y"])
        >>> next(tok.texts_to_sequences_generator(["y y"]))
        [2, 2]
        """
        oov = self._oov_index()
        limit = self.num_words or None          # num_words=0 means no cut, as Keras
        for text in self._documents(texts, "texts_to_sequences"):
            out = []
            for w in self._tokens(text):
                i = self.word_index.get(w)
                if i is not None and (limit is None or i < limit):
                    out.append(i)
                elif oov is not None:
                    out.append(oov)
            yield out

    def texts_to_sequences(self, texts: Iterable) -> list[list[int]]:
        """Each text as a list of word indices; words not in ``word_index`` or with index >= ``num_words``
        become the oov index, or are dropped when there is no ``oov_token``.

        >>> tok = Tokenizer(num_words=3)
        >>> tok.fit_on_texts(["a a b c"])
        >>> tok.texts_to_sequences(["a b c d"])
        [[1, 2]]
        """
        return list(self.texts_to_sequences_generator(texts))

    def sequences_to_texts_generator(self, sequences: Iterable[Iterable[int]]) -> Iterator[str]:
        """Yield, per sequence, its words joined by spaces (see ``sequences_to_texts``).

        >>> tok = Tokenizer()
        >>> tok.fit_on_texts(["x y"])
        >>> next(tok.sequences_to_texts_generator([[2, 1]]))
        'y x'
        """
        oov = self._oov_index()
        oov_word = self.index_word.get(oov) if oov is not None else None
        limit = self.num_words or None
        for seq in sequences:
            words = []
            for i in np.asarray(seq, dtype=np.int64).ravel().tolist():
                w = self.index_word.get(i)
                if w is not None and (limit is None or i < limit):
                    words.append(w)
                elif oov_word is not None:
                    words.append(oov_word)
            yield " ".join(words)

    def sequences_to_texts(self, sequences: Iterable[Iterable[int]]) -> list[str]:
        """Each sequence of indices back to a space-joined text (unknown or cut indices as for
        ``texts_to_sequences``).

        >>> tok = Tokenizer()
        >>> tok.fit_on_texts(["the cat"])
        >>> tok.sequences_to_texts([[2, 1, 7]])
        ['cat the']
        """
        return list(self.sequences_to_texts_generator(sequences))

    # -- matrices -----------------------------------------------------------------------------------------
    def texts_to_matrix(self, texts: Iterable, mode: str = "binary") -> np.ndarray:
        """``sequences_to_matrix(texts_to_sequences(texts), mode)``.

        >>> tok = Tokenizer()
        >>> tok.fit_on_texts(["a a b"])
        >>> tok.texts_to_matrix(["a b b"], mode="count").tolist()
        [[0.0, 1.0, 2.0]]
        """
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    def sequences_to_matrix(self, sequences: Iterable[Iterable[int]], mode: str = "binary") -> np.ndarray:
        """A float64 (len(sequences), num_words) matrix; indices >= num_words are skipped.

        num_words is ``self.num_words`` or, when unset, ``len(word_index) + 1``. ``mode``: "binary" (1 where
        present), "count", "freq" (count / sequence length, skipped indices included) or "tfidf"
        ((1 + log count) * log(1 + document_count / (1 + index_docs[j]))).

        >>> tok = Tokenizer(num_words=4)
        >>> tok.sequences_to_matrix([[1, 1, 3, 9]], mode="freq").tolist()
        [[0.0, 0.5, 0.0, 0.25]]
        """
        if mode not in _MODES:
            raise ValueError(f"Tokenizer.sequences_to_matrix: `mode` must be one of {_MODES}, got {mode!r}")
        if self.num_words:
            num_words = self.num_words
        elif self.word_index:
            num_words = len(self.word_index) + 1
        else:
            raise ValueError("Tokenizer.sequences_to_matrix: the matrix width is unknown; pass `num_words` to the "
                             "Tokenizer or fit it on some texts first")
        if mode == "tfidf" and not self.document_count:
            raise ValueError("Tokenizer.sequences_to_matrix: mode='tfidf' needs document frequencies; fit the "
                             "Tokenizer on some texts or sequences first")
        rows = [np.asarray(s, dtype=np.int64).ravel() for s in sequences]
        counts = np.zeros((len(rows), num_words))
        lengths = np.array([len(r) for r in rows], dtype=np.float64)
        if rows:
            flat = np.concatenate(rows)
            if flat.size and flat.min() < 0:
                raise ValueError(f"Tokenizer.sequences_to_matrix: indices must be >= 0, got {int(flat.min())}")
            row_of = np.repeat(np.arange(len(rows)), lengths.astype(np.int64))
            keep = flat < num_words
            np.add.at(counts, (row_of[keep], flat[keep]), 1.0)
        if mode == "count":
            return counts
        if mode == "binary":
            return (counts > 0).astype(np.float64)
        if mode == "freq":
            return counts / np.maximum(lengths, 1.0)[:, None]
        docs = np.zeros(num_words)
        for j, c in self.index_docs.items():
            if 0 <= int(j) < num_words:
                docs[int(j)] = c
        idf = np.log(1.0 + self.document_count / (1.0 + docs))
        with np.errstate(divide="ignore"):
            tf = np.where(counts > 0, 1.0 + np.log(np.where(counts > 0, counts, 1.0)), 0.0)
        return tf * idf[None, :]

    # -- serialization ------------------------------------------------------------------------------------
    def get_config(self) -> dict:
        """The constructor arguments and the fitted state (dictionaries as JSON strings, as Keras).

        >>> tok = Tokenizer(num_words=10)
        >>> tok.fit_on_texts(["hi"])
        >>> cfg = tok.get_config()
        >>> cfg["num_words"], cfg["word_index"], cfg["index_word"]
        (10, '{"hi": 1}', '{"1": "hi"}')
        """
        return {"num_words": self.num_words, "filters": self.filters, "lower": self.lower, "split": self.split,
                "char_level": self.char_level, "oov_token": self.oov_token,
                "document_count": self.document_count,
                "word_counts": json.dumps(self.word_counts), "word_docs": json.dumps(self.word_docs),
                "index_docs": json.dumps(self.index_docs), "index_word": json.dumps(self.index_word),
                "word_index": json.dumps(self.word_index)}

    def to_json(self, **kwargs) -> str:
        """``{"class_name": "Tokenizer", "config": get_config()}`` as a JSON string (kwargs go to
        ``json.dumps``); ``tokenizer_from_json`` reads it back. ``analyzer`` is not saved.

        >>> tok = Tokenizer()
        >>> tok.fit_on_texts(["hi"])
        >>> tokenizer_from_json(tok.to_json()).word_index
        {'hi': 1}
        """
        return json.dumps({"class_name": type(self).__name__, "config": self.get_config()}, **kwargs)


def _json_dict(config: dict, key: str, int_keys: bool = False) -> dict:
    try:
        value = json.loads(config.pop(key))
    except KeyError:
        raise ValueError(f"tokenizer_from_json: the config has no {key!r} entry; expected the output of "
                         "Tokenizer.to_json()") from None
    if not isinstance(value, dict):
        raise ValueError(f"tokenizer_from_json: {key!r} must hold a JSON object, got {type(value).__name__}")
    return {int(k): v for k, v in value.items()} if int_keys else value


def tokenizer_from_json(json_string: str) -> Tokenizer:
    """A ``Tokenizer`` from ``Tokenizer.to_json()`` output (tapeflow's or Keras's).

    >>> tok = Tokenizer(oov_token="?")
    >>> tok.fit_on_texts(["a b"])
    >>> tokenizer_from_json(tok.to_json()).texts_to_sequences(["b c"])
    [[3, 1]]
    """
    _check_str(json_string, "json_string", "tokenizer_from_json")
    data = json.loads(json_string)
    config = dict(data.get("config") or {}) if isinstance(data, dict) else None
    if not config:
        raise ValueError("tokenizer_from_json: expected a JSON object with a 'config' entry (the output of "
                         f"Tokenizer.to_json()), got {json_string[:60]!r}")
    word_counts = _json_dict(config, "word_counts")
    word_docs = _json_dict(config, "word_docs")
    index_docs = _json_dict(config, "index_docs", int_keys=True)
    index_word = _json_dict(config, "index_word", int_keys=True)
    word_index = _json_dict(config, "word_index")
    tok = Tokenizer(**config)
    tok.word_counts = collections.OrderedDict(word_counts)
    tok.word_docs = collections.defaultdict(int, word_docs)    # defaultdicts, so that fitting further works
    tok.index_docs = collections.defaultdict(int, index_docs)
    tok.word_index = word_index
    tok.index_word = index_word
    return tok
