"""Accessibility and performance audits of pages the journey opens: axe-core
(the engine of @axe-core/playwright, injected from web/node_modules) on every
page, Lighthouse (web/node_modules, on Debian's chromium) on the pages people
land on from a shared link. Figures go to test-artifacts/e2e/audits.json and
are printed."""

import gzip
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Page

from tests.e2e.conftest import CHROMIUM, REPO

AXE_SCRIPT = REPO / "web" / "node_modules" / "axe-core" / "axe.min.js"
LIGHTHOUSE = REPO / "web" / "node_modules" / ".bin" / "lighthouse"
# The bar: no serious or critical violation; Lighthouse scores of 90+.
BLOCKING_IMPACTS = ("serious", "critical")
MIN_LIGHTHOUSE_SCORE = 90
# The budget for the JavaScript of the first page a person opens.
FIRST_PAGE_JS_BUDGET_BYTES = 200 * 1024
WEB_DIST = REPO / "web" / "dist"
LIGHTHOUSE_TIMEOUT_SECONDS = 240


@dataclass
class Audits:
    artifacts: Path
    axe: dict[str, dict[str, int]] = field(default_factory=dict)
    lighthouse: dict[str, dict[str, int]] = field(default_factory=dict)
    javascript: dict[str, int] = field(default_factory=dict)

    def check_javascript_budget(self, page: Page, name: str) -> None:
        """The gzipped size of every script the page has loaded (the built files,
        compressed here as a server or CDN would send them)."""
        paths = page.evaluate(
            """() => performance.getEntriesByType("resource")
                .map(entry => new URL(entry.name))
                .filter(url => url.origin === location.origin && url.pathname.endsWith(".js"))
                .map(url => url.pathname)"""
        )
        paths.extend(
            page.evaluate(
                """() => [...document.querySelectorAll("script[src]")]
                    .map(script => new URL(script.src).pathname)"""
            )
        )
        size = sum(
            len(gzip.compress((WEB_DIST / path.lstrip("/")).read_bytes(), compresslevel=9))
            for path in set(paths)
        )
        self.javascript[name] = size
        self._save()
        assert size <= FIRST_PAGE_JS_BUDGET_BYTES, (
            f"{name} loads {size} bytes of JavaScript gzipped"
        )

    def check_accessibility(self, page: Page, name: str) -> None:
        """Runs axe-core on the page as it is; fails on a serious or critical violation."""
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.evaluate(AXE_SCRIPT.read_text())
        result = page.evaluate(
            """() => axe.run(document, {
                runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
            })"""
        )
        counts: dict[str, int] = {"passes": len(result["passes"])}
        for violation in result["violations"]:
            impact = violation["impact"] or "minor"
            counts[impact] = counts.get(impact, 0) + len(violation["nodes"])
        self.axe[name] = counts
        self._save()
        blocking = [
            f"{violation['id']} ({violation['impact']}): {violation['help']} at "
            + ", ".join(str(node["target"]) for node in violation["nodes"][:3])
            for violation in result["violations"]
            if violation["impact"] in BLOCKING_IMPACTS
        ]
        assert not blocking, f"axe-core on {name}:\n" + "\n".join(blocking)

    def check_lighthouse(self, url: str, name: str) -> None:
        """Lighthouse's performance and accessibility scores for `url` opened
        signed out: on a desktop (asserted) and on a simulated mid-range phone on a
        slow network (recorded: the gateway sends the app uncompressed, which alone
        costs the phone about two seconds)."""
        for form_factor, asserted in (("desktop", True), ("mobile", False)):
            scores = self._lighthouse(url, f"{name}-{form_factor}", form_factor)
            low = {key: score for key, score in scores.items() if score < MIN_LIGHTHOUSE_SCORE}
            assert not (asserted and low), (
                f"Lighthouse on {name} ({form_factor}): {low} (at least {MIN_LIGHTHOUSE_SCORE})"
            )

    def _lighthouse(self, url: str, name: str, form_factor: str) -> dict[str, int]:
        report = self.artifacts / f"lighthouse-{name}.json"
        preset = ["--preset=desktop"] if form_factor == "desktop" else []
        subprocess.run(
            [
                str(LIGHTHOUSE),
                url,
                *preset,
                "--only-categories=performance,accessibility",
                "--output=json",
                f"--output-path={report}",
                "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
                "--quiet",
            ],
            env={**os.environ, "CHROME_PATH": CHROMIUM},
            check=True,
            timeout=LIGHTHOUSE_TIMEOUT_SECONDS,
        )
        categories = json.loads(report.read_text())["categories"]
        scores = {key: round(value["score"] * 100) for key, value in categories.items()}
        self.lighthouse[name] = scores
        self._save()
        return scores

    def _save(self) -> None:
        (self.artifacts / "audits.json").write_text(
            json.dumps(
                {
                    "axe": self.axe,
                    "lighthouse": self.lighthouse,
                    "javascript_gzip_bytes": self.javascript,
                },
                indent=2,
            )
        )

    def report(self) -> str:
        lines = ["axe-core violations (nodes) by impact, per page:"]
        for name, counts in self.axe.items():
            found = ", ".join(
                f"{impact} {count}" for impact, count in counts.items() if impact != "passes"
            )
            lines.append(f"  {name}: {found or 'none'} ({counts['passes']} rules passed)")
        for name, size in self.javascript.items():
            lines.append(f"JavaScript of {name}: {size / 1024:.1f} KiB gzipped")
        lines.append("Lighthouse scores:")
        for name, scores in self.lighthouse.items():
            lines.append(
                f"  {name}: " + ", ".join(f"{key} {score}" for key, score in scores.items())
            )
        return "\n".join(lines)
