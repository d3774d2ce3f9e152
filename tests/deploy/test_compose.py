"""deploy/compose.yaml: parses, builds the one project image from the repo's Dockerfile or uses an
official postgres/redis image, runs only the image's roles with options they accept, mounts files
that exist, and sets only settings the code reads."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import REPO
from tests.deploy.roles import OFFICIAL_IMAGES, command_problems
from tests.deploy.settings_names import known_setting_names

COMPOSE = REPO / "deploy" / "compose.yaml"
ROLES_EXPECTED = {"soccer serve", "soccer worker", "dagster code-server start", "dagster-webserver",
                  "dagster-daemon run", "mlflow server"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def _is_project(svc: dict[str, Any]) -> bool:
    return "build" in svc


def test_images_are_the_project_image_or_official(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        if _is_project(svc):
            assert svc["image"] == "soccer-predict:local", name
            context = (COMPOSE.parent / svc["build"]["context"]).resolve()
            assert context == REPO, name
            assert (context / svc["build"]["dockerfile"]).is_file(), name
        else:
            repo, _, tag = svc["image"].partition(":")
            assert repo in OFFICIAL_IMAGES and tag, name


def test_commands_are_roles_of_the_image(compose: dict[str, Any],
                                         role_helps: dict[tuple[str, ...], set[str]]) -> None:
    problems, roles = [], set()
    for name, svc in compose["services"].items():
        if not _is_project(svc):
            continue
        problems += [f"{name}: {p}" for p in command_problems(svc["command"], role_helps)]
        roles.add(" ".join(w for w in svc["command"] if not w.startswith("-"))[:40])
        test = svc["healthcheck"]["test"]
        assert test[0] == "CMD", name
        # Health checks: a role of the image, or the image's python fetching a local URL.
        if test[1] == "python":
            assert re.search(r"urlopen\('http://127\.0\.0\.1:\d+/", test[3]), name
        else:
            problems += [f"{name} healthcheck: {p}" for p in command_problems(test[1:], role_helps)]
    assert not problems, "\n".join(problems)
    covered = {r for r in ROLES_EXPECTED
               if any(" ".join(s["command"][:3]).startswith(r) for s in compose["services"].values()
                      if _is_project(s))}
    assert covered == ROLES_EXPECTED


def test_the_stack_has_every_component(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {
        "soccer-postgres", "soccer-redis", "soccer-mlflow", "soccer-dagster-code",
        "soccer-dagster-webserver", "soccer-dagster-daemon", "soccer-api", "soccer-worker"}
    for name, svc in compose["services"].items():
        for dep in svc.get("depends_on", {}):
            assert dep in compose["services"], (name, dep)
            # Waiting on health needs the dependency to define a health check.
            assert "healthcheck" in compose["services"][dep], dep


def test_mounted_files_exist_and_urls_point_at_services(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        for vol in svc.get("volumes", []):
            src = vol.split(":", 1)[0]
            if src.startswith("."):
                assert (COMPOSE.parent / src).is_file(), (name, src)
            else:
                assert src in compose["volumes"], (name, src)
    env = compose["x-soccer-env"]
    hosts = set(re.findall(r"@?//(?:[^@/]*@)?([\w-]+):\d+", " ".join(str(v) for v in env.values())))
    assert hosts and hosts <= set(compose["services"]), hosts
    workspace = yaml.safe_load((COMPOSE.parent / "k8s/base/dagster/workspace.yaml").read_text())
    assert workspace["load_from"][0]["grpc_server"]["host"] in compose["services"]


def test_settings_are_read_by_the_code(compose: dict[str, Any]) -> None:
    known = known_setting_names()
    unknown = [k for k in compose["x-soccer-env"] if k.startswith("SOCCER_") and k not in known]
    assert not unknown
    assert "SOCCER_NOT_A_SETTING" not in known
