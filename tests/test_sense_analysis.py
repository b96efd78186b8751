"""The sense analyses on tiny models, several built so that the answer is known."""

import math
import re

import numpy as np
import pytest
import torch
from sense_fixtures import write_sense_dataset

from common.errors import UserError
from evaluation.statistics import jensen_shannon_divergence
from model import BackpackConfig, BackpackLM, build_model
from senses.alignment import sense_alignment
from senses.gold import collect_occurrences, read_sense_annotations, read_sense_lexicon
from senses.intervention import (
    InterventionOptions,
    chosen_words,
    generate_with_suppressed_senses,
    intervention_study,
    parse_sense_scale_spec,
    sense_scale,
    sense_scale_from_spec,
    word_set_log_probability,
)
from senses.probe import center_by_word, polysemy_probe, probe_predictions
from senses.projection import sense_projection, whole_word_mask
from senses.similarity import similarity_study, spearman
from senses.similarity_datasets import read_multisimlex, read_similarity_csv
from senses.usage import compare_language_usage, sentence_sense_usage
from senses.vectors import occurrence_vectors, output_embedding, sense_contributions, word_sense_vectors
from senses.word_lists import read_word_list
from senses.word_tokens import occurrence_token_index, surface_variant_tokens, word_tokens


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """Tiny models: more threads only contend. Restored for the other test files."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_backpack(vocab_size=64, n_embd=32, n_sense_vector=4, seed=0):
    torch.manual_seed(seed)
    return build_model(
        'backpack-lm',
        n_layer=1,
        n_head=2,
        n_embd=n_embd,
        block_size=32,
        vocab_size=vocab_size,
        n_sense_vector=n_sense_vector,
        sense_intermediate_scale=2,
        bias=False,
        dropout=0.0,
    ).eval()


@pytest.fixture(scope='module')
def fixture_data(tmp_path_factory):
    root = tmp_path_factory.mktemp('sense_data')
    meta, tok = write_sense_dataset(str(root))
    return root, meta, tok


# --- a word-level tokenizer and a Backpack whose answers are known -------------------------


class WordTokenizer:
    """Each word, with or without its leading space, lower case or capitalised, is one token;
    id 0 is end-of-text."""

    def __init__(self, words):
        self.vocab = ['<eot>'] + [v for w in words for v in (' ' + w, w, ' ' + w.title(), w.title())]
        self.ids = {t: i for i, t in enumerate(self.vocab)}
        self.eot_token = 0
        self.n_vocab = len(self.vocab)

    def encode(self, text):
        """Unknown words become a space and one token per character."""
        ids = []
        for piece in re.findall(r' ?\S+', text):
            if piece not in self.ids:
                for part in ([' '] if piece.startswith(' ') else []) + list(piece.strip()):
                    self.ids.setdefault(part, len(self.vocab))
                    if self.ids[part] == len(self.vocab):
                        self.vocab.append(part)
                    ids.append(self.ids[part])
            else:
                ids.append(self.ids[piece])
        return ids

    def token_bytes(self, token_id):
        return self.vocab[token_id].encode()

    def token_mask(self):
        return np.ones(self.n_vocab, dtype=bool)

    def token_str(self, token_id):
        return self.vocab[token_id]

    def decode(self, ids):
        return ''.join(self.vocab[i] for i in ids)


class OracleBackpack(BackpackLM):
    """Output embedding one-hot per token; 'bank' has sense 0 = E[banque] + E[money] and sense
    1 = E[rive] + E[river] (every other sense vector is 0); the contextualization turns sense 0 on in sentences with
    'money' and sense 1 otherwise (the other sense's weight goes to the end-of-text token,
    whose senses are 0). So the right translation is known for every occurrence."""

    def __init__(self, tok):
        super().__init__(
            BackpackConfig(
                vocab_size=tok.n_vocab,
                n_layer=1,
                n_head=2,
                n_embd=64,
                block_size=16,
                n_sense_vector=2,
                bias=False,
            )
        )
        V, d = tok.n_vocab, 64
        with torch.no_grad():
            self.lm_head.weight.zero_()
            self.lm_head.weight[:V, :V] = torch.eye(V)
        self.table = torch.zeros(V, 2, d)
        E = self.lm_head.weight
        self.table[tok.ids[' bank'], 0] = 3 * (E[tok.ids[' banque']] + E[tok.ids[' money']])
        self.table[tok.ids[' bank'], 1] = 3 * (E[tok.ids[' rive']] + E[tok.ids[' river']])
        self.cues = [tok.ids[' money'], tok.ids['money']]
        self.eval()

    def sense_vectors(self, token_ids):
        return self.table[token_ids]

    def contextualization(self, idx):
        B, T = idx.shape
        causal = torch.ones(T, T).tril()
        uniform = causal / causal.sum(1, keepdim=True)
        at_start = torch.zeros(T, T)
        at_start[:, 0] = 1
        alpha = torch.zeros(B, 2, T, T)
        for b in range(B):
            on = 0 if any((idx[b] == c).any() for c in self.cues) else 1
            alpha[b, on], alpha[b, 1 - on] = uniform, at_start
        return alpha

    def forward(self, idx, targets=None, all_logits=False, sense_scale=None, token_sense_scale=None):
        logits, loss, _ = self.forward_explicit(idx, targets, sense_scale, token_sense_scale)
        return logits, loss


ORACLE_WORDS = ['the', 'bank', 'money', 'river', 'banque', 'rive', 'is', 'of', 'in', 'lends', 'wet']
ORACLE_LEXICON = {
    ('bank', 'en'): {
        'word': 'bank',
        'language': 'en',
        'senses': [
            {'sense_id': 'bank/finance', 'gloss': '', 'translations': ['banque'], 'context_words': ['money']},
            {'sense_id': 'bank/river', 'gloss': '', 'translations': ['rive'], 'context_words': ['river']},
        ],
    }
}
ORACLE_LINES = [
    ('the bank lends money', 0),
    ('the money is in the bank', 0),
    ('the bank of the river', 1),
    ('the river bank is wet', 1),
    ('money is in the bank', 0),
    ('the wet bank of the river', 1),
]


def oracle_occurrences():
    lines = [line for line, _ in ORACLE_LINES]
    annotations = [
        {
            'en': [
                {
                    'word': 'bank',
                    'word_index': line.split().index('bank'),
                    'sense_id': ['bank/finance', 'bank/river'][sense],
                }
            ],
            'fr': [],
        }
        for line, sense in ORACLE_LINES
    ]
    return collect_occurrences(annotations, {'en': lines}, ORACLE_LEXICON)


# --- 1. projections ------------------------------------------------------------------------


def test_word_tokens_prefer_a_single_token_casing():
    tok = WordTokenizer([])
    tok.vocab += [' Council', ' bank']
    tok.ids.update({' Council': len(tok.vocab) - 2, ' bank': len(tok.vocab) - 1})
    assert word_tokens(tok, 'council') == [tok.ids[' Council']]
    assert word_tokens(tok, 'Bank') == [tok.ids[' bank']]
    split = word_tokens(tok, 'river')  # no casing is one token: its pieces, the space left out
    assert [tok.token_str(i) for i in split] == ['r', 'i', 'v', 'e', 'r']


def test_projection_tables_have_K_rows_of_k_tokens_and_match_the_senses():
    model = tiny_backpack()
    senses = word_sense_vectors(model, [[3], [5, 6]])
    ids, logits = sense_projection(model, senses, top_k=7)
    assert ids.shape == logits.shape == (2, 4, 7)
    brute = model.sense_vectors(torch.tensor([3]))[0] @ output_embedding(model).T  # (K, V)
    assert torch.equal(ids[0], brute.topk(7, dim=-1).indices)
    averaged = word_sense_vectors(model, [[5, 6]], multi_token='average')[0]
    assert torch.allclose(averaged, model.sense_vectors(torch.tensor([5, 6])).mean(0), atol=1e-6)
    allowed = torch.zeros(64, dtype=torch.bool)
    allowed[10:20] = True
    ids, _ = sense_projection(model, senses, top_k=5, allowed=allowed)
    assert ids.shape == (2, 4, 5) and ((ids >= 10) & (ids < 20)).all()


def test_whole_word_mask_keeps_known_words_only(fixture_data):
    _, meta, tok = fixture_data
    mask = whole_word_mask(tok, meta['vocab_size'], {'bank', 'banque'})
    kept = {tok.token_str(i) for i in torch.nonzero(mask).flatten().tolist()}
    assert ' bank' in kept and ' banque' in kept
    assert all(t.strip().lower() in ('bank', 'banque') for t in kept)


# --- 2. alignment --------------------------------------------------------------------------


def test_alignment_of_identical_tables_is_significant_and_of_shuffled_ones_is_not():
    model = tiny_backpack()
    en, fr = list(range(1, 21)), list(range(21, 41))
    with torch.no_grad():  # French token embeddings made equal to their translations': same senses
        model.transformer.wte.weight[21:41] = model.transformer.wte.weight[1:21].clone()
    result = sense_alignment(
        word_sense_vectors(model, [[i] for i in en]),
        word_sense_vectors(model, [[i] for i in fr]),
        n_permutations=500,
    )
    assert result['diagonal_mean'] == pytest.approx(1.0, abs=1e-5)
    assert result['diagonal_mean'] > result['off_diagonal_mean'] + 0.05
    assert result['statistic'] > result['null_95th_percentile']
    assert result['p_value'] < 0.05
    assert all(s['p_value'] < 0.05 for s in result['per_sense'])
    assert len(result['matrix']) == 4 and len(result['matrix'][0]) == 4

    shuffled = [1 + (i + 7) % 20 for i in range(20)]  # every French word gets another's senses
    with torch.no_grad():
        model.transformer.wte.weight[21:41] = model.transformer.wte.weight[shuffled].clone()
    result = sense_alignment(
        word_sense_vectors(model, [[i] for i in en]),
        word_sense_vectors(model, [[i] for i in fr]),
        n_permutations=500,
    )
    assert result['p_value'] > 0.1


# --- 3. usage ------------------------------------------------------------------------------


def test_usage_shares_sum_to_one_and_contributions_rebuild_the_logits():
    model = tiny_backpack()
    rng = np.random.default_rng(0)
    sentences = [rng.integers(1, 63, size=n).tolist() for n in (3, 9, 5, 12)]
    usage = sentence_sense_usage(model, sentences, eot_token=63, batch_size=3)
    assert usage['positions'].tolist() == [3, 9, 5, 12]
    for name in ('norm_share', 'logit_share'):
        assert np.allclose(usage[name].sum(1), usage['positions'])
    assert (usage['self_weight'] >= 0).all() and (usage['self_weight'] <= usage['positions'][:, None]).all()
    # the per-sense contributions add up to the model's own logits
    idx = torch.tensor([[63] + sentences[1]])
    with torch.no_grad():
        _, c = sense_contributions(model, idx)
        logits, _ = model(idx, all_logits=True)
    rebuilt = c.sum(1) @ output_embedding(model).T
    assert torch.allclose(rebuilt, logits[0, :, :64], atol=1e-5)
    # the signed logit contributions sum to the logit of the next token
    targets = sentences[1][1:] + [63]
    expected = sum(logits[0, i + 1, t].item() for i, t in enumerate(targets))
    assert usage['logit_contribution'][1].sum() == pytest.approx(expected, rel=1e-4)


def test_jensen_shannon_divergence_of_identical_distributions_is_zero():
    p = np.array([0.1, 0.2, 0.3, 0.4])
    assert jensen_shannon_divergence(p, p) == pytest.approx(0.0, abs=1e-12)
    assert jensen_shannon_divergence([1, 0], [0, 1]) == pytest.approx(1.0)


def test_language_comparison_identical_usage_p_one_different_usage_p_small():
    rng = np.random.default_rng(0)
    P, K = 40, 4
    counts = rng.integers(5, 20, size=P).astype(float)
    shares = rng.dirichlet(np.ones(K), size=P) * counts[:, None]
    same = {'positions': counts, 'norm_share': shares}
    result = compare_language_usage(
        {'en': same, 'fr': same}, 'norm_share', n_permutations=200, n_bootstrap=100
    )
    assert result['value'] == pytest.approx(0.0, abs=1e-12) and result['p_value'] == 1.0
    en, fr = result['languages']['en'], result['languages']['fr']
    assert np.allclose(en['values'], fr['values'])
    lo, hi = np.array(en['values_ci95']).T
    assert (lo <= np.array(en['values'])).all() and (np.array(en['values']) <= hi).all()
    skewed = shares.copy()
    skewed[:, 0] += counts  # French leans on sense 0
    skewed /= 2
    other = {'positions': counts, 'norm_share': skewed}
    result = compare_language_usage(
        {'en': same, 'fr': other}, 'norm_share', n_permutations=200, n_bootstrap=100
    )
    assert result['value'] > 0.01 and result['p_value'] < 0.01


# --- 4. polysemy probe ---------------------------------------------------------------------


def test_probe_scores_100_percent_on_a_model_whose_answer_is_known():
    tok = WordTokenizer(ORACLE_WORDS)
    model = OracleBackpack(tok)
    result = polysemy_probe(
        model, tok, ORACLE_LEXICON, oracle_occurrences(), ['word_senses', 'output'], 'oracle'
    )
    assert result.n_scored == len(ORACLE_LINES)
    assert len(result.overall) == 2 * 2 * 2  # probes x decisions x targets
    for row in result.overall:
        assert row['accuracy'] == 1.0 and row['n'] == 6 and row['chance'] == 0.5
        assert row['accuracy_ci95'][0] > 0.5 and row['p_value'] == pytest.approx(0.5**6)
    static = {r['sense_id']: r for r in result.static if r['target'] == 'translations'}
    assert static['bank/finance']['best_rank'] == 1 and static['bank/finance']['best_sense'] == 0
    assert static['bank/river']['best_rank'] == 1 and static['bank/river']['best_sense'] == 1
    # the token embedding is the same in every context: it can never be right for both senses
    baseline = polysemy_probe(
        model, tok, ORACLE_LEXICON, oracle_occurrences(), ['token_embedding'], 'embedding'
    )
    assert baseline.overall[0]['accuracy'] <= 0.5


@pytest.mark.parametrize('model_name', ['backpack-lm', 'gpt2'])
def test_probe_vectors_are_what_the_later_predictions_read(model_name):
    torch.manual_seed(0)
    extra = {'n_sense_vector': 4} if model_name == 'backpack-lm' else {}
    model = build_model(
        model_name, n_layer=1, n_head=2, n_embd=32, block_size=32, vocab_size=64, bias=False, **extra
    ).eval()
    sequences = [[63, 5, 9, 13, 21, 8], [63, 7, 7, 2]]
    positions = [2, 1]
    probes = ['output', 'token_embedding'] + (['word_senses', 'sense_weights'] if extra else [])
    vectors = occurrence_vectors(model, sequences, positions, probes, batch_size=1)
    E = output_embedding(model)
    for n, (seq, j) in enumerate(zip(sequences, positions)):
        with torch.no_grad():
            logits = model(torch.tensor([seq]), all_logits=True)[0][0, :, :64]
        # the output probe, through E, is the mean of the logits of the predictions i >= j
        assert torch.allclose(vectors['output'][n] @ E.T, logits[j:].mean(0), atol=1e-5)
        assert torch.equal(vectors['token_embedding'][n], E[seq[j]])
        if extra:
            with torch.no_grad():
                alpha = model.contextualization(torch.tensor([seq]))[0]  # (K, T, T)
            weights = alpha[:, j:, j].mean(1)
            assert torch.allclose(vectors['sense_weights'][n], weights, atol=1e-6)
            expected = torch.einsum('k,kd->d', weights, model.sense_vectors(torch.tensor([seq[j]]))[0])
            assert torch.allclose(vectors['word_senses'][n], expected, atol=1e-5)


def test_centring_removes_a_translation_favoured_in_every_context():
    E = torch.eye(4)  # tokens 0..3; 1 = banque, 2 = rive
    prior = 5 * E[1]  # banque outscores rive whatever the context
    vectors = torch.stack([prior + E[1], prior + E[1], prior + E[2], prior + E[2], prior + E[2]])
    candidates = [[[1], [2]]] * 5
    gold = [0, 0, 1, 1, 1]
    assert probe_predictions(vectors, E, candidates, gold).tolist() == [True, True, False, False, False]
    centred = center_by_word(vectors, {('bank', 'en'): np.ones(5, dtype=bool)})
    assert probe_predictions(centred, E, candidates, gold).all()


def test_occurrences_are_found_among_the_tokens(fixture_data):
    _, _, tok = fixture_data
    line = "Le ministre a pris de l'argent à la banque ."
    ids = tok.encode(line)
    j = occurrence_token_index(tok, line, ids, 8, 'banque')
    assert tok.token_str(ids[j]) == ' banque'
    j = occurrence_token_index(tok, line, ids, 5, 'argent')
    assert tok.decode(ids[j:]).startswith('argent')
    line = 'Bank loans helped the council .'
    ids = tok.encode(line)
    assert occurrence_token_index(tok, line, ids, 0, 'bank') == 0
    assert occurrence_token_index(tok, line, ids, 9, 'bank') is None
    assert word_tokens(tok, 'bank') == tok.encode(' bank')
    assert set(surface_variant_tokens(tok, 'bank')) >= {tok.encode(' bank')[0], tok.encode('Bank')[0]}


def test_gold_annotation_is_read_and_checked(fixture_data):
    root, _, _ = fixture_data
    gold = root / 'sensefix' / 'gold'
    lexicon = read_sense_lexicon(str(gold))
    assert [s['sense_id'] for s in lexicon[('bank', 'en')]['senses']] == ['bank/finance', 'bank/river']
    assert lexicon[('vol', 'fr')]['senses'][1]['context_words'] == ['voiture', 'choqué']
    annotations = read_sense_annotations(str(gold), 'test')
    lines = {lang: (root / 'sensefix' / f'{lang}_test.txt').read_text().splitlines() for lang in ('en', 'fr')}
    occurrences = collect_occurrences(annotations, lines, lexicon, max_sentences=10)
    assert len({o['line_number'] for o in occurrences}) == 10
    for o in occurrences:
        assert o['line'].split()[o['word_index']].lower().startswith(o['word'])
    with pytest.raises(UserError, match='held-out text has'):
        collect_occurrences(annotations[:-1], lines, lexicon)
    # the gold annotation gives surface forms: a plural is found under its word, and located
    plural = [{'raw_line': 0, 'en': [{'word': 'banks', 'sense_id': 'bank/river', 'word_index': 2}]}]
    found = collect_occurrences(plural, {'en': ['Along the banks of the river.']}, lexicon)
    assert [(o['word'], o['surface'], o['sense_index']) for o in found] == [('bank', 'banks', 1)]


# --- 5. similarity -------------------------------------------------------------------------


def test_spearman_against_known_values():
    rho, p = spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7])  # the example of scipy's documentation
    assert rho == pytest.approx(0.8207826816681233)
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40])[0] == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1])[0] == pytest.approx(-1.0)
    assert math.isnan(spearman([1, 2], [1, 2])[0])


def test_similarity_counts_oov_and_missing_pairs_and_correlates_per_sense(fixture_data):
    _, meta, tok = fixture_data
    model = tiny_backpack(vocab_size=meta['vocab_size'])
    words = ['bank', 'banque', 'rive', 'vol', 'theft', 'budget', 'paris', 'voiture']
    ids = [word_tokens(tok, w)[0] for w in words]
    # sense 0 of word i is cos-similar to the first word's in proportion to the human score
    table = torch.randn(meta['vocab_size'], 4, 32)
    base, orth = torch.zeros(32), torch.zeros(32)
    base[0], orth[1] = 1, 1
    scores = [0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    for i, score in zip(ids[1:], scores):
        angle = (6 - score) / 6 * math.pi / 2
        table[i, 0] = math.cos(angle) * base + math.sin(angle) * orth
    table[ids[0], 0] = base
    model.sense_vectors = lambda token_ids: table[token_ids]
    model.clear_sense_table()
    pairs = [
        {'word1': 'bank', 'language1': 'en', 'word2': w, 'language2': 'fr', 'score': s, 'pair_type': 'en-fr'}
        for w, s in zip(words[1:], scores)
    ]
    pairs.append(
        {
            'word1': 'bank',
            'language1': 'en',
            'word2': 'flight',
            'language2': 'en',
            'score': 3.0,
            'pair_type': 'en-en',
        }
    )  # 'flight' is split into several tokens
    pairs.append(
        {
            'word1': 'bank',
            'language1': 'en',
            'word2': 'rive',
            'language2': 'en',
            'score': None,
            'pair_type': 'en-en',
        }
    )
    rows, summary = similarity_study(pairs, model, tok, 'tiny')
    assert summary['n_oov'] == 1 and summary['n_missing'] == 1 and summary['n_scored'] == 7
    assert summary['oov_words'] == ['flight']
    by = {(r['pair_type'], r['representation']): r for r in rows}
    assert by[('en-fr', 'sense 0')]['spearman'] == pytest.approx(1.0)
    assert by[('en-fr', 'sense 0')]['n_scored'] == 7
    assert (
        by[('en-en', 'token embedding')]['n_oov'] == 1 and by[('en-en', 'token embedding')]['n_scored'] == 0
    )
    assert by[('all', 'token embedding')]['n_pairs'] == 9
    assert any(
        r['representation'].startswith('best sense (sense 0') for r in rows if r['pair_type'] == 'en-fr'
    )
    # a GPT-2 has only its token embedding
    gpt = build_model('gpt2', n_layer=1, n_head=2, n_embd=32, block_size=32, vocab_size=meta['vocab_size'])
    rows, _ = similarity_study(pairs, gpt, tok, 'gpt2')
    assert {r['representation'] for r in rows} == {'token embedding'}


def test_multisimlex_and_csv_readers(tmp_path):
    (tmp_path / 'translation.csv').write_text(
        'ID,ENG 1,ENG 2,PoS,SPA 1,SPA 2,FRA 1,FRA 2,extra\n'
        '1,old,new,A,viejo,nuevo,vieux,nouveau,x\n2,cat,dog,N,gato,perro,chat,chien,y\n'
    )
    (tmp_path / 'scores.csv').write_text(
        'ID,ENG 1,ENG 2,PoS,FRA,SPA,ENG\n1,old,new,A,1.5,1.0,0.5\n2,cat,dog,N,,2,3.5\n'
    )
    pairs = read_multisimlex(str(tmp_path))
    assert len(pairs) == 8
    assert pairs[0] == {
        'word1': 'old',
        'language1': 'en',
        'word2': 'new',
        'language2': 'en',
        'score': 0.5,
        'pair_type': 'en-en',
    }
    assert pairs[1]['word1'] == 'vieux' and pairs[1]['score'] == 1.5 and pairs[1]['pair_type'] == 'fr-fr'
    assert pairs[2]['word2'] == 'nouveau' and pairs[2]['score'] == 1.0 and pairs[2]['pair_type'] == 'en-fr'
    assert pairs[5]['score'] is None  # no French score for cat/dog
    (tmp_path / 'sim.csv').write_text('word1,word2,score\nbank,banque,5\nriver,rive,\n')
    pairs = read_similarity_csv(str(tmp_path / 'sim.csv'))
    assert [p['score'] for p in pairs] == [5.0, None] and pairs[0]['pair_type'] == 'all'
    (tmp_path / 'bad.csv').write_text('a,b,c\n1,2,3\n')
    with pytest.raises(UserError, match='word1'):
        read_similarity_csv(str(tmp_path / 'bad.csv'))
    (tmp_path / 'header_only.csv').write_text('word1,word2,score\n,,\n')
    with pytest.raises(UserError, match='holds no word pairs'):
        read_similarity_csv(str(tmp_path / 'header_only.csv'))


def test_a_word_list_given_but_empty_is_refused_not_replaced_by_the_default_words(tmp_path):
    path = tmp_path / 'words.txt'
    path.write_text('bank\t en\n# a comment\n\nbanque  # French\nrive\tFrançais\nBank\tDeutsch\nx\txx\n')
    assert read_word_list('river, ', str(path)) == [
        ('river', ''),
        ('bank', 'en'),
        ('banque', ''),
        ('rive', 'fr'),
        ('Bank', 'de'),
        ('x', 'xx'),
    ]
    assert read_word_list() == []
    for text in ('', '\n\n', '# only comments\n   # and blanks\n\n'):
        path.write_text(text)
        with pytest.raises(UserError) as error:
            read_word_list(words_file=str(path))
        assert f"--words_file={path} holds no word" in str(error.value)
        assert 'one word per line' in str(error.value)
    with pytest.raises(UserError, match='names no word'):
        read_word_list(words=' , ,')
    with pytest.raises(UserError, match='is a folder'):
        read_word_list(words_file=str(tmp_path))


# --- 6. interventions ----------------------------------------------------------------------


def test_zeroing_every_sense_of_a_word_removes_exactly_its_contribution():
    model = tiny_backpack()
    word = 7
    idx = torch.randint(8, 64, (2, 12))
    idx[0, [2, 5]] = word
    idx[1, 9] = word
    scale = sense_scale(model, [([word], None, 0.0)])
    with torch.no_grad():
        intervened, _ = model(idx, all_logits=True, token_sense_scale=scale)
        baseline, _ = model(idx, all_logits=True)
        alpha, _ = sense_contributions(model, idx)
        senses = model.sense_table()[idx] * (idx == word)[..., None, None]  # (B, T, K, d)
        contribution = torch.einsum('bkij,bjkd->bid', alpha, senses)
    expected = baseline[..., :64] - contribution @ output_embedding(model).T
    assert torch.allclose(intervened[..., :64], expected, atol=1e-5)
    assert not torch.allclose(intervened, baseline)
    # generation with the senses removed is greedy decoding of the intervened model
    out = generate_with_suppressed_senses(model, idx[:1, :4], scale, max_new_tokens=6, temperature=0)
    manual = idx[:1, :4]
    for _ in range(6):
        with torch.no_grad():
            logits, _ = model(manual, token_sense_scale=scale)
        manual = torch.cat([manual, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(out, manual)


def test_sense_scale_specs(fixture_data):
    _, meta, tok = fixture_data
    assert parse_sense_scale_spec('bank:3,1; vol:*=0.5') == [('bank', [3, 1], 0.0), ('vol', None, 0.5)]
    for bad in ('bank', 'bank:x', 'bank:1=abc', ':1', 'bank:', 'bank:1=nan', 'bank:1=inf', ';', ' ; '):
        with pytest.raises(UserError):
            parse_sense_scale_spec(bad)
    model = tiny_backpack(vocab_size=meta['vocab_size'])
    scale, described = sense_scale_from_spec(model, tok, 'bank:1,3;vol:*=0.5')
    bank = surface_variant_tokens(tok, 'bank')
    assert (scale[bank][:, [1, 3]] == 0).all() and (scale[bank][:, [0, 2]] == 1).all()
    assert (scale[tok.encode(' vol')[0]] == 0.5).all()
    assert scale.sum() == scale.numel() - 2 * len(bank) - 4 * 0.5 * len(described[1]['token_ids'])
    with pytest.raises(UserError, match='senses per token'):
        sense_scale_from_spec(model, tok, 'bank:4')
    gpt = build_model('gpt2', n_layer=1, n_head=2, n_embd=32, block_size=32, vocab_size=meta['vocab_size'])
    with pytest.raises(UserError, match='Backpack'):
        sense_scale_from_spec(gpt, tok, 'bank:1')


def test_a_sense_scale_refuses_a_word_of_several_tokens_and_takes_a_token_by_id(fixture_data):
    """Scaling the first piece of a split word (' b' of 'banana') would change every word made
    with it: the word is refused, its tokens named, and id:N scales that one token."""
    _, meta, tok = fixture_data
    model = tiny_backpack(vocab_size=meta['vocab_size'])
    pieces = tok.encode(' zqxjw')
    assert len(pieces) > 1 and not surface_variant_tokens(tok, 'zqxjw')
    with pytest.raises(
        UserError,
        match=rf"no single token .* {len(pieces)} tokens, "
        rf"{re.escape(repr(tok.token_str(pieces[0])))} \(id:{pieces[0]}\)",
    ):
        sense_scale_from_spec(model, tok, 'zqxjw:3')
    scale, described = sense_scale_from_spec(model, tok, f'id:{pieces[0]}:1=0.5')
    assert described[0]['token_ids'] == [pieces[0]]
    assert (scale == 0.5).sum() == 1 and scale[pieces[0], 1] == 0.5
    with pytest.raises(UserError, match=r"token ids are 0\.\."):
        sense_scale_from_spec(model, tok, f"id:{meta['vocab_size']}:1")


def test_intervention_words_outside_the_gold_lexicon_are_named(fixture_data):
    root = fixture_data[0]
    lexicon = read_sense_lexicon(str(root / 'sensefix' / 'gold'))
    assert chosen_words(lexicon, '') is None and chosen_words(lexicon, ' Bank ,') == ['bank']
    with pytest.raises(
        UserError, match=r"zzz is no polysemous word of the gold lexicon \(it has bank, vol\)"
    ):
        chosen_words(lexicon, 'bank,zzz')
    with pytest.raises(UserError, match='names no word'):
        chosen_words(lexicon, ' , ')


def test_word_set_log_probability_is_the_mean_over_later_predictions():
    model = tiny_backpack()
    sequence = [63, 5, 9, 13, 21, 8]
    result = word_set_log_probability(model, [sequence, sequence[:4]], [2, 1], [[9, 40], [3]])
    with torch.no_grad():
        log_p = torch.log_softmax(model(torch.tensor([sequence]), all_logits=True)[0][0], -1)
    expected = torch.logsumexp(log_p[2:, [9, 40]], -1).mean().item()
    assert result[0, 0] == pytest.approx(expected, rel=1e-5)
    assert result[1, 1] == pytest.approx(log_p[1:4, 3].mean().item(), rel=1e-5)


@pytest.mark.parametrize('selection', ['context', 'projection'])
def test_suppressing_the_sense_of_a_meaning_lowers_its_translation(selection):
    tok = WordTokenizer(ORACLE_WORDS)
    model = OracleBackpack(tok)
    chosen_on = oracle_occurrences() if selection == 'context' else None
    # a word of several tokens is skipped and said, as sample.py refuses it
    split_word = {('zqx', 'en'): dict(ORACLE_LEXICON[('bank', 'en')], word='zqx')}
    result = intervention_study(
        model,
        tok,
        {**ORACLE_LEXICON, **split_word},
        oracle_occurrences(),
        chosen_on,
        InterventionOptions(n_examples=0, n_bootstrap=100),
    )
    assert any(
        note.startswith("sense scale for 'zqx': the word is no single token") and note.endswith('; skipped')
        for note in result.notes
    )
    assert result.selection == [selection]
    rows = {r.sense_id: r for r in result.rows}
    assert rows['bank/finance'].suppressed_senses == [0]
    assert rows['bank/river'].suppressed_senses == [1]
    for row in rows.values():
        assert row.n_prompts == 3
        assert row.changes['translation']['mean'] < 0 and row.changes['translation']['mean_ci95'][1] < 0
        assert row.changes['translation_vs_other']['mean'] < 0
        assert row.changes['other_translation']['mean'] > 0
    assert result.overall['translation']['fraction_lowered'] == 1.0
    assert set(result.by_language) == {'en'}
