"""``steward model status``: which toxicity backend a config gets on this machine, and what Detoxify still needs.

Loads the fast model (a second) and, without ``--load``, only inspects what Detoxify needs (packages, files);
with ``--load`` it loads Detoxify as the bot would, so its error is the bot's.
"""

from __future__ import annotations

from cogs.toxicity.config import ToxicitySettings
from cogs.toxicity.diagnose import Diagnosis, explain
from cogs.toxicity.fast import FastModel
from cogs.toxicity.model import ModelLoadError, ModelSpec, load_model


def _fast(cfg: ToxicitySettings) -> tuple[str, bool]:
    try:
        model = FastModel(canonical_input=cfg.fast_input == "canonical")
    except Exception as exc:
        return f"fast model: unavailable: {type(exc).__name__}: {exc}", False
    return f"fast model: {model.source}, ready ({cfg.fast_input} input, loaded in {model.load_seconds:.2f} s)", True


def _detoxify(spec: ModelSpec, load: bool) -> tuple[list[str], bool]:
    """Lines about Detoxify and whether it is (or would be, without ``load``: has what it needs to be) usable."""
    lines = [f"detoxify: runtime {spec.backend}, model {spec.source}"]
    found = explain(spec, None)
    diagnosis: Diagnosis | None = None if not found.fix and found.reason == "not loaded" else found
    if diagnosis is None and load:
        try:
            model = load_model(spec)
            model.score(["hello"])
        except ModelLoadError as exc:
            diagnosis = explain(spec, str(exc))
        except Exception as exc:
            diagnosis = explain(spec, f"{type(exc).__name__}: {exc}")
        else:
            lines.append(f"detoxify: ready ({', '.join(model.judged_labels)}; loaded in {model.load_seconds:.1f} s)")
            return lines, True
    if diagnosis is None:
        lines.append("detoxify: its packages and files are here; `steward model status --load` tries loading it")
        return lines, True
    lines.append(f"detoxify: not available: {diagnosis.reason}")
    lines += [f"  to fix: {step}" for step in diagnosis.fix]
    return lines, False


def describe(cfg: ToxicitySettings, *, load: bool = False) -> tuple[list[str], bool]:
    """The report's lines, and whether a model will answer (the fast one or Detoxify)."""
    if not cfg.enabled:
        return ["toxicity: disabled ([toxicity] enabled = false): no message is scored"], True
    lines = [f"mode: {cfg.mode}"]
    fast_line, fast_ok = _fast(cfg)
    lines.append(fast_line)
    if cfg.mode == "fast":
        lines += ["detoxify: off (mode fast)", "backend: fast"]
        return lines, fast_ok
    detoxify_lines, detoxify_ok = _detoxify(ModelSpec.from_settings(cfg), load)
    lines += detoxify_lines
    if detoxify_ok and fast_ok:
        lines.append(f"backend: {'cascade' if cfg.mode == 'auto' else cfg.mode} once Detoxify has loaded")
    elif fast_ok:
        lines.append("backend: fast (Detoxify unavailable: the fast model answers every message)")
    elif detoxify_ok:
        lines.append("backend: detoxify (the fast model is unavailable)")
    else:
        lines.append(f"backend: none: messages are not scored (agents' follow fail_mode {cfg.fail_mode})")
    return lines, fast_ok or detoxify_ok
