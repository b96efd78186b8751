"""The sense explorer: its views against direct computations on a tiny trained Backpack (the
word view's tokens are the sense projection's, the in-context contributions sum to the logit, the
steered text is sample.py's), bad input answered with a message, and the app itself, started with
explore.py and driven in headless Chromium."""

import os
import socket
import subprocess
import sys
import threading
import time

import pytest
import torch
import torch.nn.functional as F
from tiny_text_corpus import REPO_ROOT, run_script, tiny_checkpoint, torch_threads

from common.checkpoint import load_model
from evaluation.checkpoints import checkpoint_datasets, checkpoint_tokenizer
from senses import explorer_page
from senses.explorer import NO_SENSES, in_context_view, sense_cosine_view, steer_view, word_senses_view
from senses.explorer_page import context_page, steer_page, word_page
from senses.projection import sense_projection
from senses.vectors import output_embedding, word_sense_vectors
from senses.word_tokens import word_tokens

CHROMIUM, CHROMEDRIVER = '/usr/bin/chromium', '/usr/bin/chromedriver'


def loaded(out_dir):
    model, checkpoint = load_model(out_dir)
    root, _ = checkpoint_datasets(checkpoint)
    return model, checkpoint_tokenizer(checkpoint, root, model)


@pytest.fixture(scope='module')
def backpack(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory)


@pytest.fixture(autouse=True)
def one_thread():
    with torch_threads(1):  # as the scripts run in the tests (OMP_NUM_THREADS=1)
        yield


def test_word_view_shows_the_sense_projections(backpack):
    model, tok = loaded(backpack)
    for word, multi_token in (('committee', 'first'), ('budget', 'average'), ('comité', 'average')):
        view = word_senses_view(model, tok, word, multi_token, top_k=5)
        ids = word_tokens(tok, word)
        assert view.token_ids == ids and len(view.senses) == model.config.n_sense_vector
        assert bool(view.note) == (len(ids) > 1)
        senses = word_sense_vectors(model, [ids], multi_token)
        top_ids, _ = sense_projection(model, senses, 5)
        # the lowest, computed directly: each sense's logits over the vocabulary, ascending
        rows = model.sense_table()[ids].float()
        senses_direct = rows.mean(0) if multi_token == 'average' else rows[0]
        logits = senses_direct @ output_embedding(model).T  # (K, V)
        lowest = logits.topk(5, dim=-1, largest=False)
        for k, sense in enumerate(view.senses):
            assert [t.token_id for t in sense.highest] == top_ids[0, k].tolist()
            assert [t.token_id for t in sense.lowest] == lowest.indices[k].tolist()
            assert [t.logit for t in sense.lowest] == pytest.approx(lowest.values[k].tolist(), abs=1e-5)
            assert [t.token for t in sense.highest] == [tok.token_str(i) for i in top_ids[0, k].tolist()]


def test_cosine_view_is_the_cosine_between_the_senses(backpack):
    model, tok = loaded(backpack)
    view = sense_cosine_view(model, tok, 'budget', 'budget')
    K = model.config.n_sense_vector
    a = model.sense_table()[word_tokens(tok, 'budget')[0]].float()
    expected = F.cosine_similarity(a[:, None], a[None], dim=-1)
    assert torch.tensor(view.matrix) == pytest.approx(expected, abs=1e-5)
    other = sense_cosine_view(model, tok, 'committee', 'comité')
    b, c = (model.sense_table()[word_tokens(tok, w)[0]].float() for w in ('committee', 'comité'))
    expected = F.cosine_similarity(b[:, None], c[None], dim=-1)
    assert len(other.matrix) == K and torch.tensor(other.matrix) == pytest.approx(expected, abs=1e-5)


def test_in_context_contributions_sum_to_the_models_logit(backpack):
    model, tok = loaded(backpack)
    sentence = "The committee supports the budget"
    ids = [tok.eot_token] + tok.encode(sentence)
    idx = torch.tensor([ids])
    with torch.no_grad():
        explicit_logits, _, alpha = model.forward_explicit(idx)
        efficient_logits, _ = model(idx, all_logits=True)
    V = model.config.vocab_size
    for position, next_token in ((None, ''), (2, tok.decode([ids[3]])), (1, f'#{ids[2]}')):
        view = in_context_view(model, tok, sentence, position, next_token, sense=1, top_n=5)
        i = len(ids) - 1 if position is None else position
        assert view.position == i and view.token_ids == ids
        probabilities = torch.softmax(efficient_logits[0, i, :V], dim=-1)
        assert [p.token_id for p in view.predictions] == probabilities.topk(5).indices.tolist()
        y = view.target.token_id
        if next_token == '':
            assert y == view.predictions[0].token_id
        else:
            assert y == ids[i + 1]  # the token that follows in the sentence
        contributions = torch.tensor(view.contributions)
        assert contributions.shape == (i + 1, model.config.n_sense_vector)
        assert view.logit == pytest.approx(float(efficient_logits[0, i, y]), abs=1e-5)
        assert float(contributions.sum()) == pytest.approx(float(explicit_logits[0, i, y]), abs=1e-4)
        assert view.contribution_sum == pytest.approx(view.logit, abs=1e-4)
        # one (word, sense) pair written out: alpha_kij E[y] . C(x_j)_k
        j, k = i // 2, 1
        with torch.no_grad():
            sense = model.sense_vectors(torch.tensor([ids[j]]))[0, k]
        direct = alpha[0, k, i, j] * (output_embedding(model)[y].detach() @ sense)
        assert float(contributions[j, k]) == pytest.approx(float(direct), abs=1e-5)
        assert torch.tensor(view.alpha) == pytest.approx(alpha[0, 1], abs=1e-6)
    view = in_context_view(model, tok, sentence, 2, 'supports')  # a word: its first token
    assert view.target.token_id == word_tokens(tok, 'supports')[0]
    assert bool(view.notes) == (len(word_tokens(tok, 'supports')) > 1)
    page = context_page(model, tok, sentence)
    assert 'class="contribution-sum"' in page[3] and len(page[5]) == len(ids)


def test_steered_text_is_what_sample_py_prints(backpack):
    model, tok = loaded(backpack)
    args = dict(
        prompt="The committee supports the budget", seed=5, max_new_tokens=20, temperature=1.0, top_k=50
    )
    view = steer_view(model, tok, word='budget', senses='*', factor='0', **args)
    script = [
        'sample.py',
        f'--out_dir={backpack}',
        f"--start={args['prompt']}",
        '--num_samples=1',
        '--seed=5',
        '--max_new_tokens=20',
        '--temperature=1.0',
        '--top_k=50',
        '--device=cpu',
    ]
    plain = run_script(*script).stdout
    steered = run_script(*script, '--sense_scale=budget:*=0').stdout
    assert plain == view.baseline + '\n---------------\n'
    assert steered.split('\n', 1)[1] == view.steered + '\n---------------\n'
    assert view.steered != view.baseline and view.steered.startswith("The committee")
    assert view.scaled[0]['senses'] == 'all' and view.scaled[0]['factor'] == 0
    message, baseline, with_it = steer_page(
        model, tok, args['prompt'], 'budget', '0,1', '2.5', 5, 20, 1.0, 50
    )
    assert 'Scaling senses [0, 1] of budget' in message and with_it and baseline == view.baseline


BAD_WORDS = [
    ('', 'is empty'),
    ('   ', 'is empty'),
    ('two words', 'several words'),
    ('bank\ud800', 'not valid text'),
    ('x' * 5000, 'characters'),
]


def test_bad_input_gets_a_message_and_no_traceback(backpack, monkeypatch):
    model, tok = loaded(backpack)
    for word, expected in BAD_WORDS:
        message, *parts = word_page(model, tok, word)
        assert expected in message and 'class="message error"' in message and parts == ['', '', '']
    message, senses, *_ = word_page(model, tok, 'zzqxw')  # no word of the corpus: its pieces
    assert 'not one token' in message and 'sense-row' in senses
    message, senses, other, cosines = word_page(model, tok, 'committee', 'deux mots')
    assert 'several words' in message and senses and not cosines
    long_sentence = ' '.join(['The committee supports the budget'] * 10)
    for sentence, position, next_token, sense, expected in [
        ('', None, '', 0, 'is empty'),
        (long_sentence, None, '', 0, 'shorten it'),
        ('The budget', 99, '', 0, 'choose one from 0 to'),
        ('The budget', None, '', 7, 'The sense is 7'),
        ('The budget', None, '#999999', 0, 'choose one from 0 to'),
        ('The \ud83d budget', None, '', 0, 'not valid text'),
    ]:
        message = context_page(model, tok, sentence, position, next_token, sense)[0]
        assert expected in message, (sentence[:20], message)
    for word, senses, factor, seed, expected in [
        ('budget', '0', 'abc', 1, "Factor 'abc' is not a number"),
        ('budget', '0', 'nan', 1, 'not a finite number'),
        ('budget', 'one', '0', 1, 'are not integers'),
        ('budget', '9', '0', 1, 'sense 9 does not exist'),
        ('', '0', '0', 1, 'word to steer is empty'),
        ('committee', '0', '0', 1, "'committee': the word is no single token"),
        ('budget', '0', '0', 'x', "seed 'x' is not a number"),
        ('budget', '0', '0', 1.5, 'not a whole number'),
    ]:
        message = steer_page(model, tok, 'The committee', word, senses, factor, seed, 5)[0]
        assert expected in message, (factor, seed, message)

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(explorer_page, 'word_senses_view', broken)
    message = word_page(model, tok, 'committee')[0]
    assert 'Internal error (RuntimeError: a bug)' in message and 'Traceback' not in message


def test_a_gpt2_gets_predictions_and_generation_and_is_told_why_there_are_no_senses(tmp_path_factory):
    model, tok = loaded(tiny_checkpoint(tmp_path_factory, 'gpt2'))
    assert word_page(model, tok, 'committee')[0] == f'<p class="message error">{NO_SENSES}</p>'
    view = in_context_view(model, tok, "The committee supports", top_n=3)
    assert len(view.predictions) == 3 and view.senses_absent == NO_SENSES
    assert view.contributions is None
    message, baseline, steered = steer_page(model, tok, "The committee", '', '', '', 3, 10)
    assert baseline.startswith("The committee") and steered == '' and 'no senses to steer' in message


# --- the app in a browser ------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def start_explorer(out_dir, port, timeout=180):
    """explore.py as a user starts it; returns (process, URL) once it prints the URL."""
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}
    process = subprocess.Popen(
        [sys.executable, 'explore.py', f'--out_dir={out_dir}', f'--port={port}', '--device=cpu'],
        cwd=REPO_ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    lines = []

    def read():
        for line in process.stdout:
            lines.append(line)

    threading.Thread(target=read, daemon=True).start()
    deadline = time.time() + timeout
    while time.time() < deadline and process.poll() is None:
        url = next((line.split(' at ')[-1].strip() for line in lines if line.startswith('exploring ')), None)
        if url:
            return process, url, lines
        time.sleep(0.2)
    process.kill()
    raise AssertionError(f"explore.py did not start:\n{''.join(lines)[-3000:]}")


def browser():
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip(
            f"no browser for the end-to-end test ({CHROMIUM}, {CHROMEDRIVER}): install one "
            f"with apt-get install chromium chromium-driver"
        )
    webdriver = pytest.importorskip(
        'selenium.webdriver', reason="pip install selenium (requirements-test.txt) for the browser test"
    )
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage', '--window-size=1400,1600'):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


@pytest.mark.slow
def test_the_app_in_a_browser_shows_the_models_senses_and_predictions(backpack, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser()
    process, url, log = start_explorer(backpack, free_port())
    try:
        assert url.startswith('http://127.0.0.1:')
        driver.get(url)
        wait = WebDriverWait(driver, 60)

        def field(elem_id):
            selector = f'#{elem_id} textarea, #{elem_id} input'
            return wait.until(lambda d: d.find_element(By.CSS_SELECTOR, selector))

        def tab(name):
            wait.until(
                lambda d: [
                    b
                    for b in d.find_elements(By.CSS_SELECTOR, 'button[role=tab]')
                    if b.text.strip() == name and b.is_displayed()
                ]
            )[0].click()

        model, tok = loaded(backpack)
        field('word_input').send_keys('budget')
        driver.find_element(By.ID, 'word_button').click()
        rows = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '#word_senses tr.sense-row'))
        view = word_senses_view(model, tok, 'budget', top_k=8)
        assert len(rows) == model.config.n_sense_vector
        for row, sense in zip(rows, view.senses):
            tokens = row.find_elements(By.CSS_SELECTOR, 'td.highest .token')
            assert [int(t.get_attribute('data-token-id')) for t in tokens] == [
                t.token_id for t in sense.highest
            ]
            assert [t.text for t in tokens] == [t.token for t in sense.highest]
        field('word_input').send_keys(' words')  # 'budget words': two words
        driver.find_element(By.ID, 'word_button').click()
        wait.until(lambda d: 'several words' in d.find_element(By.ID, 'word_message').text)

        tab('In context')
        field('sentence_input').send_keys('The committee supports the', Keys.ENTER)
        first = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '#predictions tr.prediction'))[0]
        expected = in_context_view(model, tok, 'The committee supports the')
        assert int(first.get_attribute('data-token-id')) == expected.predictions[0].token_id
        assert float(first.find_element(By.CSS_SELECTOR, '.probability').text) == pytest.approx(
            expected.predictions[0].probability, abs=1e-4
        )
        total = driver.find_element(By.CSS_SELECTOR, '#contributions .contribution-sum').text
        assert float(total) == pytest.approx(expected.logit, abs=1e-3)
        driver.save_screenshot(str(tmp_path / 'explorer.png'))
        assert (tmp_path / 'explorer.png').stat().st_size > 10_000

        tab('Steer')
        field('steer_prompt').send_keys('The committee supports the budget')
        field('steer_word').send_keys('budget')  # one token: a word of several is refused
        field('steer_factor').clear()
        field('steer_factor').send_keys('lots')
        driver.find_element(By.ID, 'steer_button').click()
        wait.until(lambda d: "Factor 'lots' is not a number" in d.find_element(By.ID, 'steer_message').text)
        field('steer_factor').clear()
        field('steer_factor').send_keys('0')
        driver.find_element(By.ID, 'steer_button').click()
        wait.until(lambda d: field('steer_steered').get_attribute('value'))  # still serving
        steered = steer_view(
            model, tok, 'The committee supports the budget', 'budget', '0', '0', 1337, 20, 0.8
        )
        assert field('steer_baseline').get_attribute('value') == steered.baseline
        assert field('steer_steered').get_attribute('value') == steered.steered
        assert process.poll() is None and 'Traceback' not in ''.join(log)
    finally:
        driver.quit()
        process.kill()
        process.wait()


def test_explore_py_says_when_the_port_is_taken(backpack):
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen()
        result = run_script(
            'explore.py',
            f'--out_dir={backpack}',
            f'--port={taken.getsockname()[1]}',
            check=False,
            timeout=120,
        )
    assert result.returncode != 0 and 'cannot listen on 127.0.0.1' in result.stderr
