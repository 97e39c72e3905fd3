"""mkdocs, run in this process into a staging folder: the built site replaces the old one only
once it is whole. mkdocs' messages are collected; in strict mode the first warning becomes the
build's one error line."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from generator.pipeline.atomic import staging_dir_for
from generator.pipeline.errors import BuildError
from generator.pipeline.paths import MKDOCS_YML


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def build_site(data_dir: Path, site_dir: Path, docs_dir: Path | None = None, site_name: str | None = None) -> Path:
    """The whole site, built from `data_dir` (the staged site data) into a fresh folder beside
    `site_dir`; returns that folder, for the caller to publish. The folder carries the marker
    that says this tool wrote it (mkdocs, cleaning it first, leaves dot files alone).
    docs_dir, site_name: another set of pages with the report's theme and front end (the site
    `flowgraph-report model` writes)."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort, MkDocsException

    staging = staging_dir_for(site_dir, marked=True)
    logger = logging.getLogger("mkdocs")
    collect, propagate, level = _Collect(), logger.propagate, logger.level
    logger.addHandler(collect)
    logger.propagate, logger.level = False, logging.INFO
    previous = os.environ.get("FLOWGRAPH_SITE_DATA")
    os.environ["FLOWGRAPH_SITE_DATA"] = str(data_dir)   # read by site_src/hooks.py
    try:
        overrides = {"docs_dir": str(docs_dir)} if docs_dir is not None else {}
        if site_name is not None:
            overrides.update(site_name=site_name, site_description=site_name)
        config = load_config(str(MKDOCS_YML), site_dir=str(staging), strict=True, **overrides)
        build(config)
    except (Abort, MkDocsException) as e:
        # mkdocs says "Error reading page 'x.md':" and then, separately, what the error was.
        messages = [m.strip() for m in collect.messages if m.strip()] or [str(e)]
        raise BuildError("mkdocs: " + " ".join(messages[:3])) from None
    finally:
        logger.removeHandler(collect)
        logger.propagate, logger.level = propagate, level
        if previous is None:
            os.environ.pop("FLOWGRAPH_SITE_DATA", None)
        else:
            os.environ["FLOWGRAPH_SITE_DATA"] = previous
    return staging
