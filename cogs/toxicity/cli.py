"""``steward model ...``: ``export`` (a Detoxify checkpoint -> an int8 ONNX Runtime model, refused if its scores
drift), ``fetch`` (a released Detoxify model into a directory the offline loader reads) and ``status`` (which
backend the config gets here and, when Detoxify is unavailable, why and what to run).

Registered into the ``steward`` command by ``bot.cli``; nothing heavy is imported until the command runs.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cogs.toxicity.config import ToxicitySettings
    from cogs.toxicity.export import ExportReport
    from cogs.toxicity.model import ModelSpec

EXIT_OK = 0
EXIT_DRIFT = 1
EXIT_ERROR = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    model = subparsers.add_parser("model", help="toxicity model tools (export to ONNX Runtime)")
    model_sub = model.add_subparsers(dest="model_command", required=True)
    export = model_sub.add_parser(
        "export",
        help="export a Detoxify checkpoint to an int8 ONNX model, refused if its scores drift beyond the tolerance",
        description=(
            "Export the PyTorch Detoxify model to ONNX, quantize it to int8 (dynamic), score a probe set with both "
            "and refuse the export (exit 1, nothing written) when any label differs by more than the tolerance. "
            "The model is the one in the config's [toxicity] section unless --checkpoint/--model-dir say otherwise."
        ),
    )
    export.add_argument("--config", type=Path, default=None, help="TOML config file (default: steward.toml)")
    export.add_argument("--checkpoint", type=Path, help="Detoxify checkpoint file (.ckpt)")
    export.add_argument("--model-dir", type=Path, help="directory with config.json and the tokenizer files")
    export.add_argument(
        "--model", choices=("original", "unbiased", "multilingual"), help="Detoxify model to download (no checkpoint)"
    )
    export.add_argument("--output", type=Path, required=True, help="directory to write model.int8.onnx into")
    export.add_argument("--tolerance", type=float, help="largest score difference accepted (default: the config's)")
    export.add_argument("--probes", type=Path, help="extra probe texts, one per line, added to the built-in set")
    export.add_argument("--allow-pickle-checkpoint", action="store_true", help="trust a checkpoint needing unpickling")
    export.set_defaults(func=run_export)
    fetch = model_sub.add_parser(
        "fetch",
        help="download a released Detoxify model into a directory for offline use, and check that it loads",
        description=(
            "Run where GitHub and the Hugging Face hub are reachable. Writes checkpoint.ckpt, config.json and the "
            "tokenizer into --output, loads them as the bot will, and prints the [toxicity] lines that use them."
        ),
    )
    fetch.add_argument("--model", choices=("original", "unbiased", "multilingual"), default="original")
    fetch.add_argument("--output", type=Path, required=True, help="directory to write the model into")
    fetch.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the download hosts")
    fetch.set_defaults(func=run_fetch)
    status = model_sub.add_parser(
        "status", help="which toxicity backend the config gets on this machine; why Detoxify is not available"
    )
    status.add_argument("--config", type=Path, default=None, help="TOML config file (default: steward.toml)")
    status.add_argument("--load", action="store_true", help="also try loading Detoxify (seconds; may download)")
    status.set_defaults(func=run_status)


class _Refused(Exception):
    """A problem with the command line or the config: printed, exit code ``EXIT_ERROR``."""


def _settings_section(args: argparse.Namespace) -> ToxicitySettings:
    from bot.config import ConfigError, load_settings

    path = args.config
    if path is None:
        from bot.cli import default_config_path

        path = default_config_path()
    try:
        settings: ToxicitySettings = load_settings(path).section("toxicity")
    except ConfigError as exc:
        raise _Refused(str(exc)) from None
    return settings


def _spec(args: argparse.Namespace, cfg: ToxicitySettings) -> ModelSpec:
    """The torch model to export: the config's, with the command line's overrides."""
    from cogs.toxicity.model import ModelSpec

    spec = replace(ModelSpec.from_settings(cfg), backend="torch")
    overrides = {
        "checkpoint": args.checkpoint,
        "model_dir": args.model_dir,
        "model": args.model,
        "allow_pickle_checkpoint": True if args.allow_pickle_checkpoint else None,
    }
    spec = replace(spec, **{key: value for key, value in overrides.items() if value is not None})
    if spec.checkpoint is not None and spec.model_dir is None:
        raise _Refused("--checkpoint needs --model-dir (config.json and tokenizer files)")
    return spec


def _tolerance(args: argparse.Namespace, cfg: ToxicitySettings) -> float:
    tolerance: float = args.tolerance if args.tolerance is not None else cfg.export_tolerance
    if not 0 < tolerance <= 1:
        raise _Refused(f"tolerance must be in (0, 1], got {tolerance}")
    return tolerance


def _probes(extra: Path | None) -> list[str]:
    """The built-in probe set plus the non-empty lines of ``extra``."""
    from cogs.toxicity.probes import PROBES

    probes = list(PROBES)
    if extra is None:
        return probes
    try:
        lines = extra.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise _Refused(f"cannot read probes {extra}: {exc}") from None
    return probes + [line.strip() for line in lines if line.strip()]


def _progress(step: str) -> None:
    print(f"  {step}", file=sys.stderr)


def _print_report(report: ExportReport) -> int:
    print(f"score drift on {report.probes} probes (largest |onnx int8 - torch fp32| per label):")
    for label, diff in sorted(report.drift.items(), key=lambda item: -item[1]):
        flag = "  > tolerance" if diff > report.tolerance else ""
        print(f"  {label:<18} {diff:.5f}{flag}")
    print(f"size: fp32 {report.fp32_bytes / 1e6:.1f} MB -> int8 {report.int8_bytes / 1e6:.1f} MB")
    if not report.accepted:
        print(
            f"steward model export: refused: drift {report.max_drift:.5f} exceeds the tolerance {report.tolerance}; "
            "nothing was written",
            file=sys.stderr,
        )
        return EXIT_DRIFT
    print(f"accepted (tolerance {report.tolerance}); wrote {report.onnx_path} in {report.seconds:.1f} s")
    print(f'serve it with:\n  [toxicity]\n  backend = "onnx"\n  onnx_path = "{report.onnx_path}"')
    return EXIT_OK


def run_export(args: argparse.Namespace) -> int:
    from cogs.toxicity.export import ExportError, export_onnx

    try:
        cfg = _settings_section(args)
        spec = _spec(args, cfg)
        tolerance = _tolerance(args, cfg)
        probes = _probes(args.probes)
    except _Refused as exc:
        print(f"steward model export: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(f"exporting {spec.source} -> {args.output}", file=sys.stderr)
    try:
        report = export_onnx(spec, args.output, tolerance=tolerance, probes=probes, progress=_progress)
    except ExportError as exc:
        print(f"steward model export: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return _print_report(report)


def run_fetch(args: argparse.Namespace) -> int:
    from cogs.toxicity.fetch import fetch_model
    from cogs.toxicity.model import ModelLoadError

    try:
        report = fetch_model(args.model, args.output, timeout=args.timeout, progress=_progress)
    except ModelLoadError as exc:
        print(f"steward model fetch: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(f"fetched Detoxify {args.model} into {report.model_dir} ({', '.join(report.labels)}), {report.seconds:.1f} s")
    print(f"serve it with:\n{report.config_lines()}")
    return EXIT_OK


def run_status(args: argparse.Namespace) -> int:
    from cogs.toxicity.status import describe

    try:
        cfg = _settings_section(args)
    except _Refused as exc:
        print(f"steward model status: {exc}", file=sys.stderr)
        return EXIT_ERROR
    lines, ok = describe(cfg, load=args.load)
    print("\n".join(lines))
    return EXIT_OK if ok else EXIT_DRIFT
