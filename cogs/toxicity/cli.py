"""``steward model export``: a Detoxify checkpoint -> an int8 ONNX Runtime model, refused if its scores drift.

Registered into the ``steward`` command by ``bot.cli``; nothing heavy is imported until the command runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK = 0
EXIT_DRIFT = 1
EXIT_ERROR = 2


def register(subparsers: argparse._SubParsersAction) -> None:
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


def _settings_section(args: argparse.Namespace):
    from bot.config import ConfigError, load_settings

    path = args.config
    if path is None:
        from bot.cli import default_config_path

        path = default_config_path()
    try:
        return load_settings(path).section("toxicity")
    except ConfigError as exc:
        raise SystemExit(f"steward model export: {exc}") from None


def run_export(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from cogs.toxicity.export import ExportError, export_onnx
    from cogs.toxicity.model import ModelSpec
    from cogs.toxicity.probes import PROBES

    try:
        cfg = _settings_section(args)
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return EXIT_ERROR
    spec = replace(ModelSpec.from_settings(cfg), backend="torch")
    if args.checkpoint is not None:
        spec = replace(spec, checkpoint=args.checkpoint)
    if args.model_dir is not None:
        spec = replace(spec, model_dir=args.model_dir)
    if args.model is not None:
        spec = replace(spec, model=args.model)
    if args.allow_pickle_checkpoint:
        spec = replace(spec, allow_pickle_checkpoint=True)
    if spec.checkpoint is not None and spec.model_dir is None:
        print("steward model export: --checkpoint needs --model-dir (config.json and tokenizer files)", file=sys.stderr)
        return EXIT_ERROR
    tolerance = args.tolerance if args.tolerance is not None else cfg.export_tolerance
    if not 0 < tolerance <= 1:
        print(f"steward model export: tolerance must be in (0, 1], got {tolerance}", file=sys.stderr)
        return EXIT_ERROR
    probes = list(PROBES)
    if args.probes is not None:
        try:
            probes += [line.strip() for line in args.probes.read_text(encoding="utf-8").splitlines() if line.strip()]
        except OSError as exc:
            print(f"steward model export: cannot read probes {args.probes}: {exc}", file=sys.stderr)
            return EXIT_ERROR

    def progress(step: str) -> None:
        print(f"  {step}", file=sys.stderr)

    print(f"exporting {spec.source} -> {args.output}", file=sys.stderr)
    try:
        report = export_onnx(spec, args.output, tolerance=tolerance, probes=probes, progress=progress)
    except ExportError as exc:
        print(f"steward model export: {exc}", file=sys.stderr)
        return EXIT_ERROR

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
