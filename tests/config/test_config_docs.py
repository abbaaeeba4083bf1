"""A setting is described once, on its field: config.yaml and docs/configuration.md are written from that help."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from services.config import Config, load_config, sections, setting_names
from services.config import docs as config_docs
from services.config.setting import help_of, is_secret, setting

ROOT = Path(__file__).resolve().parents[2]
CONFIGURATION_MD = ROOT / "docs" / "configuration.md"
# Names that say "this is a credential"; SOCIAL_PROVIDERS holds client secrets and Apple's private keys.
SECRET_NAME = re.compile(r"PASSWORD$|SECRET|API_KEY$")
SECRETS = {"SMTP_PASSWORD", "MAILGUN_API_KEY", "S3_SECRET_ACCESS_KEY", "SOCIAL_PROVIDERS", "AUDIT_HMAC_KEY",
           "ADMIN_KEY_SECRET", "HOOKS", "WEBHOOKS"}  # the last two hold each endpoint's signing secret


def all_fields() -> list[dataclasses.Field[object]]:
    return list(dataclasses.fields(Config))


def comment_above(yaml_text: str, name: str) -> str:
    """The comment lines right above `NAME:` in config.yaml, as one line of text."""
    comment = re.search(rf"((?:^#.*\n)+){name}:", yaml_text, re.MULTILINE)
    assert comment, f"{name} has no comment in config.yaml"
    return " ".join(line.removeprefix("#").strip() for line in comment[1].splitlines())


@pytest.mark.parametrize("name", sorted(config_docs.GENERATED))
def test_the_generated_file_is_what_the_settings_help_makes_of_it(name: str) -> None:
    written = (ROOT / name).read_text(encoding="utf-8")
    assert written == config_docs.GENERATED[name](), f"{name} is stale: run `{config_docs.REGENERATE}`"


def test_every_setting_is_in_the_configuration_table() -> None:
    table = CONFIGURATION_MD.read_text(encoding="utf-8")
    missing = [name for name in setting_names() if f"| `{name}` |" not in table]
    assert not missing, f"settings missing from docs/configuration.md: {missing}"


def test_config_yaml_comments_each_setting_with_its_help() -> None:
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    for field in all_fields():
        assert help_of(field) in comment_above(text, field.name.upper()), field.name


def test_every_setting_has_help_text_that_is_a_sentence() -> None:
    for field in all_fields():
        help_text = help_of(field)
        assert help_text.strip(), f"{field.name.upper()} has no help text"
        assert help_text.endswith("."), f"{field.name.upper()}: help text should end with a full stop"
        assert "|" not in help_text and "\n" not in help_text, field.name


def test_each_setting_belongs_to_exactly_one_section() -> None:
    names = setting_names()
    assert len(names) == len(set(names)) == len(all_fields())
    assert set(names) == {field.name.upper() for field in all_fields()}


def test_every_section_has_a_title_a_description_and_checks_only_its_own_settings() -> None:
    for section in sections():
        assert section.TITLE and section.__doc__ and section.PAGES, section.__name__
        section()  # its checks read no other section's settings, and its defaults pass them


def test_config_yaml_groups_the_settings_under_their_section_headings() -> None:
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    headings = [text.index(f"# --- {section.TITLE} ") for section in sections()]
    assert headings == sorted(headings)
    for section, start, end in zip(sections(), headings, [*headings[1:], len(text)], strict=True):
        for field in dataclasses.fields(section):
            assert f"\n{field.name.upper()}:" in text[start:end], (section.TITLE, field.name)


def test_exactly_the_credentials_are_secrets() -> None:
    marked = {field.name.upper() for field in all_fields() if is_secret(field)}
    assert marked == SECRETS
    assert {name for name in setting_names() if SECRET_NAME.search(name)} <= marked


def test_a_secret_has_an_empty_default_and_stays_out_of_repr() -> None:
    for field in all_fields():
        if is_secret(field):
            assert field.default in ("", ()), field.name
            assert not field.repr, field.name
    config = load_config(None, environ={"SMTP_PASSWORD": "smtp-hunter2", "MAILGUN_API_KEY": "key-hunter2",
                                        "S3_ACCESS_KEY_ID": "AKIAEXAMPLE", "S3_SECRET_ACCESS_KEY": "s3-hunter2",
                                        "SOCIAL_PROVIDERS": '{"github": {"client_id": "Iv1.a", '
                                                            '"client_secret": "gh-hunter2"}}'})
    assert config.smtp_password == "smtp-hunter2" and config.provider("github") is not None
    assert "hunter2" not in repr(config)


def test_secrets_set_in_the_environment_never_reach_the_generated_files(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SECRETS - {"SOCIAL_PROVIDERS"}:
        monkeypatch.setenv(name, f"{name.lower()}-hunter2")
    monkeypatch.setenv("SOCIAL_PROVIDERS", '{"github": {"client_id": "Iv1.a", "client_secret": "gh-hunter2"}}')
    yaml_text, docs_text = config_docs.render_config_yaml(), config_docs.render_configuration_md()
    assert "hunter2" not in yaml_text + docs_text
    written = yaml.safe_load(yaml_text)
    for name in SECRETS:
        assert written[name] in ("", {}, []), name  # WEBHOOKS is a list
        assert "better set in the environment" in comment_above(yaml_text, name).lower(), name
        assert re.search(rf"\| `{name}` \| empty \| .*Better set in the environment", docs_text), name


def test_a_secret_with_a_default_cannot_be_written(monkeypatch: pytest.MonkeyPatch) -> None:
    @dataclasses.dataclass(frozen=True)
    class Leaky:
        """A section whose secret has a default."""

        TITLE = "Leaky"
        PAGES = ("leaky.md",)
        leaky_password: str = setting("hunter2", "A password.", secret=True)

    monkeypatch.setattr(config_docs, "sections", lambda: (Leaky,))
    for render in config_docs.GENERATED.values():
        with pytest.raises(ValueError, match="LEAKY_PASSWORD is a secret"):
            render()


def test_config_yaml_lists_every_setting_and_loads_to_exactly_the_defaults() -> None:
    assert sorted(yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))) == sorted(setting_names())
    assert load_config(ROOT / "config.yaml", environ={}) == load_config(None, environ={}) == Config()


def test_the_command_says_whether_the_files_are_current() -> None:
    check = subprocess.run([sys.executable, "-m", "services.config.docs", "--check"], cwd=ROOT,
                           capture_output=True, text=True, timeout=60, check=False)
    assert check.returncode == 0, check.stderr


def test_the_command_rewrites_stale_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "docs").mkdir()
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    (tmp_path / "docs" / "configuration.md").write_text("edited by hand\n")
    assert config_docs.stale_files(tmp_path) == ["docs/configuration.md"]
    assert config_docs.main(["--check"], root=tmp_path) == 1
    assert "docs/configuration.md is stale: run python -m services.config.docs" in capsys.readouterr().err
    assert config_docs.main([], root=tmp_path) == 0
    assert capsys.readouterr().out == "wrote docs/configuration.md\n"
    assert config_docs.stale_files(tmp_path) == []
    assert (tmp_path / "docs" / "configuration.md").read_bytes() == CONFIGURATION_MD.read_bytes()
