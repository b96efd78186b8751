"""data/prepared.py and data/corpora.py as a new user meets them: language sampling at any
xlm_alpha, a dataset named twice, a dataset without validation data, and the commands suggested
for a dataset that is not prepared (in a data root of one's own, or of a name no script makes)."""

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from synthetic_data import write_synthetic_dataset  # noqa: E402

from common.errors import UserError  # noqa: E402
from common.training_log import validation_text  # noqa: E402
from data.corpora import prepare_command  # noqa: E402
from data.europarl.pairs import downloaded_pairs  # noqa: E402
from data.prepared import PreparedData, read_meta  # noqa: E402


def test_language_probabilities_stay_valid_at_any_alpha(tmp_path):
    write_synthetic_dataset(str(tmp_path), 'a', n_train=20000)
    write_synthetic_dataset(str(tmp_path), 'b', languages=('en',), n_train=2000, seed=1)
    data = PreparedData(str(tmp_path), ['a', 'b'])  # en 22/42 of the tokens, fr 20/42, as in tiny
    q = data.language_probabilities(2000.0)  # (22/42) ** 2000 and (20/42) ** 2000 are 0.0: nan before
    assert all(np.isfinite(list(q.values()))) and q['en'] == pytest.approx(1.0)
    assert data.language_probabilities(0.5)['en'] == pytest.approx(22**0.5 / (22**0.5 + 20**0.5))
    x, _ = data.get_batch('train', 4, 16, seed=0, step=0, xlm_alpha=2000.0)
    assert x.shape == (4, 16)


def test_a_dataset_named_twice_is_refused(tmp_path):
    write_synthetic_dataset(str(tmp_path), 'tri')
    with pytest.raises(UserError, match=r"names 'tri' more than once.*--list_of_datasets=\"\['tri'\]\""):
        PreparedData(str(tmp_path), ['tri', 'tri'])


def test_languages_without_validation_data_are_said(tmp_path):
    """PreparedData names them; train.py says so before training (training_log.validation_text)."""
    write_synthetic_dataset(str(tmp_path), 'big')
    assert PreparedData(str(tmp_path), ['big']).languages_without('val', 32) == []
    assert validation_text(PreparedData(str(tmp_path), ['big']), 32) == ''
    write_synthetic_dataset(
        str(tmp_path), 'few', n_train=2000, n_heldout=10
    )  # val: 10 tokens, no sequence of 33
    data = PreparedData(str(tmp_path), ['few'])
    assert data.languages_without('val', 32) == ['en', 'fr']
    assert 'no validation loss will be measured' in validation_text(data, 32)
    write_synthetic_dataset(str(tmp_path), 'en_only', languages=('en',), seed=2)
    note = validation_text(PreparedData(str(tmp_path), ['few', 'en_only']), 32)
    assert 'in French (fr) (' in note and 'their validation loss will not be measured' in note


def test_suggested_commands_write_into_the_data_root_given(tmp_path):
    root = str(tmp_path / 'mydata')
    os.makedirs(root)
    with pytest.raises(UserError) as e:
        read_meta(root, 'europarl-de-en')
    assert (
        f"Prepare it with: DATA_ROOT={root} bash data/get_data.sh europarl --pair=de-en && "
        f"python data/europarl/prepare.py --pair=de-en --data_root={root}"
    ) in str(e.value)
    assert prepare_command('multiun', root).startswith(f"DATA_ROOT={root} bash data/get_data.sh multiun && ")
    assert prepare_command('demo', root) == f"python data/demo/prepare.py --data_root={root}"
    assert prepare_command('demo', 'data') == "python data/demo/prepare.py"  # the default says nothing more
    with pytest.raises(UserError) as e:
        downloaded_pairs(['fi-en'], root, every_pair=False)
    assert f"Download it with: DATA_ROOT={root} bash data/get_data.sh europarl --pair=fi-en" in str(e.value)


def test_an_unknown_dataset_gets_the_scripts_there_are(tmp_path):
    with pytest.raises(UserError) as e:
        read_meta(str(tmp_path), 'mycorpus')
    message = str(e.value)
    assert 'data/mycorpus/prepare.py' not in message
    assert (
        f"python data/hf/prepare.py --hf_dataset=FOLDER --languages=xx,yy --name=mycorpus --data_root={tmp_path}"
        in message
    )
    for script in ('europarl', 'multiun', 'hf', 'demo'):
        assert f'data/{script}/prepare.py' in message


def test_a_data_root_that_does_not_exist_is_said_first(tmp_path):
    with pytest.raises(UserError, match=r"^the data root \S*nodata does not exist \(--data_root\)"):
        PreparedData(str(tmp_path / 'nodata'), ['tiny'])
