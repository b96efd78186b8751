"""
What train.py records about a run, next to its checkpoint:
- out_dir/metrics.csv: one row per evaluation (train and val loss, val loss per language);
- out_dir/train_log.csv: one row per logged iteration (loss, learning rate, speed, MFU);
- out_dir/loss.png: train loss and val loss per language against the iteration;
- Weights & Biases, when wandb_log=True (WANDB_MODE=offline works without network);
and what it prints about its languages, by name, readable with ten of them: how each is sampled
(sampling_text), those without validation data (validation_text), the validation loss of each at
every evaluation (evaluation_text), and what a run left in out_dir when it ends (closing_text).
On resume, rows from iterations at or after the resumed one are dropped, since the run redoes them.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from common.atomic_files import write_failure, written_atomically
from common.errors import UserError
from common.languages import language_name

if TYPE_CHECKING:
    from data.prepared import PreparedData


class CsvLog:
    """A CSV file with fixed columns, appended to row by row (and kept in memory for plots)."""

    def __init__(self, path: str, columns: Iterable[str], resume_from_iter: int | None = None) -> None:
        self.path, self.columns = path, list(columns)
        self.rows = []
        if resume_from_iter is not None and os.path.isfile(path):
            with open(path, newline='') as f:
                self.rows = [r for r in csv.DictReader(f) if int(r['iter']) < resume_from_iter]
        with written_atomically(path) as tmp, open(tmp, 'w', newline='') as f:
            writer = csv.DictWriter(f, fieldnames=self.columns, extrasaction='ignore')
            writer.writeheader()
            writer.writerows(self.rows)

    def append(self, row: Mapping[str, Any]) -> None:
        self.rows.append(row)
        try:
            with open(self.path, 'a', newline='') as f:
                csv.DictWriter(f, fieldnames=self.columns, extrasaction='ignore').writerow(row)
        except OSError as e:
            raise write_failure(self.path, e) from e


def language_colors(n: int) -> list[tuple[float, float, float, float]]:
    """n distinct colours, one per language: tab10's, or tab20's beyond ten languages."""
    import matplotlib

    cmap = matplotlib.colormaps['tab10' if n <= 10 else 'tab20']
    return [cmap(i % cmap.N) for i in range(n)]


def plot_losses(
    metrics_rows: Sequence[Mapping[str, Any]], train_rows: Sequence[Mapping[str, Any]], path: str
) -> None:
    """loss.png: training loss (every logged iteration, light) and, at each evaluation, the
    train and validation loss and the validation loss per language (one colour each, named in
    the legend; outside the plot when there are many)."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    def series(rows, key):
        pts = [
            (int(r['iter']), float(r[key]))
            for r in rows
            if r.get(key) not in (None, '') and math.isfinite(float(r[key]))
        ]
        return [p[0] for p in pts], [p[1] for p in pts]

    lang_keys = [k for k in metrics_rows[-1] if k.startswith('val_loss_')] if metrics_rows else []
    many = len(lang_keys) > 4
    fig, ax = plt.subplots(figsize=(8.6 if many else 7, 4.2), dpi=120)
    if train_rows:
        ax.plot(*series(train_rows, 'loss'), color='0.75', lw=0.8, label='train (per iteration)')
    if metrics_rows:
        ax.plot(*series(metrics_rows, 'train_loss'), 'o-', color='k', ms=3, label='train (eval)')
        ax.plot(*series(metrics_rows, 'val_loss'), 's-', color='0.4', ms=3, label='val (all languages)')
        for key, color in zip(lang_keys, language_colors(len(lang_keys))):
            ax.plot(
                *series(metrics_rows, key),
                '--',
                color=color,
                lw=1.2,
                marker='.',
                ms=4,
                label=f"val {language_name(key[len('val_loss_') :])}",
            )
    ax.set_xlabel('iteration')
    ax.set_ylabel('cross-entropy (nats per token)')
    ax.grid(alpha=0.3)
    if many:  # beside the plot, where it hides no curve
        ax.legend(fontsize=7, loc='upper left', bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    else:
        ax.legend(fontsize=8)
    fig.tight_layout()
    with written_atomically(path) as tmp:
        fig.savefig(tmp, format='png')
    plt.close(fig)


def per_language_lines(label: str, values: Mapping[str, str], width: int = 100, indent: str = '  ') -> str:
    """'label: English 3.1234, French 3.2345, ...' wrapped to lines of at most `width`
    characters, values {language code: text}, each language named (common.languages)."""
    cells = [f"{language_name(lang)} {text}" for lang, text in values.items()]
    lines, line = [], f"{indent}{label}:"
    for i, cell in enumerate(cells):
        piece = f" {cell}" + (',' if i < len(cells) - 1 else '')
        if len(line) + len(piece) > width and line.strip() != f"{label}:":
            lines.append(line)
            line = indent * 2 + piece.lstrip()
        else:
            line += piece
    return '\n'.join(lines + [line])


def evaluation_text(iter_num: int, losses: Mapping[str, float]) -> str:
    """The printout of an evaluation: the train and val loss on one line, the val loss of each
    language below it (readable with ten languages and more)."""
    overall = [
        f"{split} loss {losses[f'{split}_loss']:.4f}"
        for split in ('train', 'val')
        if f'{split}_loss' in losses
    ]
    per_language = {k[len('val_loss_') :]: f"{v:.4f}" for k, v in losses.items() if k.startswith('val_loss_')}
    text = f"step {iter_num}: " + ', '.join(overall)
    return text + ('\n' + per_language_lines('val loss by language', per_language) if per_language else '')


def sampling_text(data: PreparedData, xlm_alpha: float) -> str:
    """What train.py says about its languages before training: for each language, its share of
    the training tokens, the probability that a sequence is drawn from it (xlm_alpha smoothing)
    and the datasets that hold it."""
    shares, q = data.language_probabilities(1.0), data.language_probabilities(xlm_alpha)
    width = max(len(f"{language_name(lang)} ({lang})") for lang in q)
    lines = [
        f"languages sampled (xlm_alpha={xlm_alpha}): share of the training tokens -> "
        f"probability of a sequence, and the datasets that hold the language"
    ]
    for lang, p in q.items():
        holders = [ds for ds in data.datasets if lang in data.metas[ds]['languages']]
        lines.append(
            f"  {f'{language_name(lang)} ({lang})':<{width}}  {shares[lang]:6.1%} -> {p:6.1%}  "
            f"({', '.join(holders)})"
        )
    return '\n'.join(lines)


def validation_text(data: PreparedData, block_size: int) -> str:
    """A note naming the languages that have no validation sequence of block_size + 1 tokens in
    data (a PreparedData), so that no validation loss is measured for them; '' when all have."""
    missing = data.languages_without('val', block_size)
    if not missing:
        return ''
    names = ', '.join(f"{language_name(lang)} ({lang})" for lang in missing)
    consequence = (
        "no validation loss will be measured (the training loss stands in for it)"
        if len(missing) == len(data.languages)
        else "their validation loss will not be measured, nor count in the overall one"
    )
    return (
        f"note: no validation data of more than {block_size + 1} tokens in {names} "
        f"({', '.join(data.datasets)}): {consequence}. Prepare the data with a validation "
        f"split to measure it."
    )


def closing_text(out_dir: str, checkpoints: Iterable[str]) -> str:
    """The last line of a run: where its logs are, and the checkpoints it wrote (names), if any."""
    logs = f"logs in {out_dir} (metrics.csv, train_log.csv, loss.png)"
    if not checkpoints:
        return f"done: {logs}; this run wrote no checkpoint"
    return f"done: {', '.join(sorted(set(checkpoints)))} and {logs}"


class TrainingLog:
    def __init__(
        self,
        out_dir: str,
        config: Mapping[str, Any],
        languages: Iterable[str],
        resume_from_iter: int | None = None,
        wandb_log: bool = False,
        wandb_project: str = '',
        wandb_run_name: str = '',
    ) -> None:
        self.out_dir = out_dir
        self.metrics = CsvLog(
            os.path.join(out_dir, 'metrics.csv'),
            ['iter', 'tokens', 'lr', 'train_loss', 'val_loss'] + [f'val_loss_{lang}' for lang in languages],
            resume_from_iter,
        )
        self.iterations = CsvLog(
            os.path.join(out_dir, 'train_log.csv'),
            ['iter', 'loss', 'lr', 'time_ms', 'tokens_per_s', 'mfu'],
            resume_from_iter,
        )
        self.wandb = None
        if wandb_log:
            try:
                import wandb
            except ImportError:
                raise UserError(
                    "wandb_log=True but wandb is not installed: pip install wandb, "
                    "or run with --wandb_log=False"
                )
            try:
                wandb.init(
                    project=wandb_project,
                    name=wandb_run_name,
                    config=config,
                    dir=out_dir,
                    resume='allow' if resume_from_iter else None,
                )
            except Exception as e:
                raise UserError(
                    f"wandb could not start ({type(e).__name__}: {e}). Log in with "
                    f"`wandb login`, or log locally with WANDB_MODE=offline, or run "
                    f"with --wandb_log=False"
                )
            self.wandb = wandb

    def log_eval(self, row: Mapping[str, Any]) -> None:
        self.metrics.append(row)
        plot_losses(self.metrics.rows, self.iterations.rows, os.path.join(self.out_dir, 'loss.png'))
        if self.wandb:
            self.wandb.log({k: v for k, v in row.items() if k != 'iter'}, step=row['iter'])

    def log_iteration(self, row: Mapping[str, Any]) -> None:
        self.iterations.append(row)
        if self.wandb:
            self.wandb.log(
                {f"iter/{k}": v for k, v in row.items() if k != 'iter' and v is not None}, step=row['iter']
            )

    def finish(self) -> None:
        if self.metrics.rows or self.iterations.rows:
            plot_losses(self.metrics.rows, self.iterations.rows, os.path.join(self.out_dir, 'loss.png'))
        if self.wandb:
            self.wandb.finish()
