"""The images the chart runs: Dockerfile builds a target for each of them, with the command
and user the chart expects; hadolint passes; and the services' image leaves out the model
stack only because no service imports it."""

import ast
import importlib.metadata
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.helm.conftest import REPO, Rendered, component_of, containers, pod_spec

DOCKERFILE = REPO / "Dockerfile"
TRITON_DOCKERFILE = REPO / "triton" / "Dockerfile"
HADOLINT = Path(sys.executable).parent / "hadolint"
# The processes in the services' images, and what their code loads besides (Alembic env.py
# and revisions, loaded by `python -m runtime.database upgrade`; the gateway's modules).
ENTRY_MODULES = (
    "usersvc.server",
    "billingsvc.server",
    "songsvc.server",
    "songsvc.worker",
    "runtime.database",
)
MIGRATION_PACKAGES = ("usersvc", "billingsvc", "songsvc")


def stages() -> dict[str, list[str]]:
    """Dockerfile stage name -> its instructions (continuation lines joined)."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    result: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"FROM\s+\S+\s+AS\s+(\S+)", line, re.IGNORECASE)
        if match:
            current = match.group(1)
            result[current] = []
        elif current is not None:
            result[current].append(line)
    return result


def stage_value(name: str, instruction: str) -> str | None:
    """The last `instruction` of a stage, following its FROM chain."""
    all_stages = stages()
    parents = dict(re.findall(r"FROM\s+(\S+)\s+AS\s+(\S+)", DOCKERFILE.read_text(), re.IGNORECASE))
    parent_of = {child: parent for parent, child in parents.items()}
    while name in all_stages:
        for line in reversed(all_stages[name]):
            if line.upper().startswith(instruction + " "):
                return line[len(instruction) + 1 :].strip()
        name = parent_of.get(name, "")
    return None


def test_hadolint_passes() -> None:
    result = subprocess.run(
        [str(HADOLINT), str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_flags_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install -y gcc\n")
    result = subprocess.run([str(HADOLINT), str(bad)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "DL3007" in result.stdout


def test_each_chart_image_has_a_target_with_the_same_command(default_render: Rendered) -> None:
    targets = stages()
    checked = set()
    for workload in default_render.workloads():
        for container in containers(workload, init=False):
            repository = container["image"].rpartition(":")[0].rpartition("/")[2]
            if repository == "neutone-triton":
                # Built from the model tier's own Dockerfile.
                assert (REPO / "triton" / "Dockerfile").exists()
                continue
            if not repository.startswith("neutone-"):
                continue
            target = repository.removeprefix("neutone-")
            assert target in targets, f"no Dockerfile target for {repository}"
            cmd = stage_value(target, "CMD")
            assert cmd is not None and json_list(cmd) == container["command"], target
            checked.add(component_of(workload))
    assert checked == {
        "usersvc",
        "billingsvc",
        "songsvc",
        "songsvc-worker",
        "gateway",
        "migrations",
    }


def json_list(text: str) -> list[str]:
    value = json.loads(text)
    assert isinstance(value, list)
    return value


def test_images_run_as_the_user_the_pods_declare(default_render: Rendered) -> None:
    user = stage_value("service", "USER")
    assert user is not None
    uid, _, gid = user.partition(":")
    for workload in default_render.workloads():
        if component_of(workload) in ("edge", "triton"):
            continue
        context = pod_spec(workload)["securityContext"]
        assert (context["runAsUser"], context["runAsGroup"]) == (int(uid), int(gid))


def test_gateway_image_carries_the_built_web_app() -> None:
    assert any(line.startswith("COPY --from=web-build /web/dist ") for line in stages()["gateway"])
    assert any(line == "RUN npm run build" for line in stages()["web-build"])


def test_final_stages_build_nothing() -> None:
    # The run stages copy what the build stages made; they install and compile nothing.
    for name in (
        "service",
        "usersvc",
        "billingsvc",
        "songsvc",
        "songsvc-worker",
        "migrations",
        "gateway",
    ):
        for line in stages()[name]:
            assert not re.search(r"\b(pip|apt-get|apk|npm|gcc|make)\b", line), (name, line)


# ---- the services' dependencies ----------------------------------------------------------


def model_only_packages() -> set[str]:
    match = re.search(r'ARG MODEL_ONLY_PACKAGES="([^"]+)"', DOCKERFILE.read_text())
    assert match
    return set(match.group(1).split())


def service_requirements() -> list[Requirement]:
    """pyproject.toml's dependencies less the model stack: what the Dockerfile installs."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requirements = [Requirement(text) for text in project["dependencies"]]
    return [r for r in requirements if normalized(r.name) not in model_only_packages()]


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_closure(requirements: list[Requirement]) -> set[str]:
    """Distribution names the requirements install, transitively (as pip would here)."""
    seen: set[str] = set()
    pending = [(r, frozenset(r.extras)) for r in requirements]
    while pending:
        requirement, extras = pending.pop()
        name = normalized(requirement.name)
        key = f"{name}[{','.join(sorted(extras))}]"
        if key in seen:
            continue
        seen.add(key)
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        for text in distribution.requires or []:
            dependency = Requirement(text)
            environments = [{"extra": extra} for extra in extras] or [{"extra": ""}]
            if dependency.marker is None or any(
                dependency.marker.evaluate(e) for e in environments
            ):
                pending.append((dependency, frozenset(dependency.extras)))
    return {key.partition("[")[0] for key in seen}


def module_file(module: str) -> Path | None:
    path = REPO.joinpath(*module.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def third_party_imports() -> dict[str, str]:
    """Top-level third-party modules the services' code can import -> the module importing it.
    Follows the project's own imports from the entry points, lazy ones included; skips
    `if TYPE_CHECKING:` blocks."""
    project_packages = {p.parent.name for p in REPO.glob("*/__init__.py")}
    pending = list(ENTRY_MODULES)
    for package in MIGRATION_PACKAGES:
        migrations = REPO / package / "migrations"
        pending += [
            ".".join(path.relative_to(REPO).with_suffix("").parts)
            for path in migrations.rglob("*.py")
        ]
    # The gateway's image runs the same code plus its own package.
    pending += [f"gateway.{path.stem}" for path in (REPO / "gateway").glob("*.py")]
    seen: set[str] = set()
    found: dict[str, str] = {}
    while pending:
        module = pending.pop()
        if module in seen:
            continue
        seen.add(module)
        # Importing a.b.c runs a/__init__.py and a/b/__init__.py first.
        parts = module.split(".")
        pending += [".".join(parts[:i]) for i in range(1, len(parts))]
        path = module_file(module)
        if path is None:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                node.body = []
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            for name in names:
                top = name.split(".")[0]
                if top in project_packages:
                    if module_file(name) is not None:
                        pending.append(name)
                elif top not in sys.stdlib_module_names and top != "__future__":
                    found.setdefault(top, module)
    return found


def test_services_import_only_what_their_image_installs() -> None:
    available = installed_closure(service_requirements())
    providers = importlib.metadata.packages_distributions()
    missing = {}
    for top, importer in sorted(third_party_imports().items()):
        distributions = {normalized(d) for d in providers.get(top, [])}
        if not distributions & available:
            missing[top] = f"imported by {importer}, from {sorted(distributions) or '?'}"
    assert not missing, f"not installed in the services' image: {missing}"


def test_model_stack_stays_out_of_the_services_image() -> None:
    assert not model_only_packages() & installed_closure(service_requirements())
    assert {"torch", "transformers", "diffusers"} <= model_only_packages()


@pytest.mark.parametrize("module", ["torch", "diffusers", "transformers"])
def test_no_service_imports_the_model_stack(module: str) -> None:
    assert module not in third_party_imports()


def test_triton_image_pins_the_model_stack_as_pyproject_does() -> None:
    # The engines run in tests under pyproject's pins and in production under the Triton
    # image's: a looser bound there would let the image resolve a version no test ran.
    installed = [
        Requirement(text)
        for text in re.findall(r'"([A-Za-z][\w.-]*[<>=!~][^"]*)"', TRITON_DOCKERFILE.read_text())
    ]
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pinned = {normalized(r.name): r for r in map(Requirement, project["dependencies"])}
    assert {normalized(r.name) for r in installed} >= {"torch", "transformers", "diffusers"}
    for requirement in installed:
        assert str(requirement.specifier) == str(pinned[normalized(requirement.name)].specifier), (
            requirement
        )
