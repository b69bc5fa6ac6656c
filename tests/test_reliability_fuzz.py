"""Property-based: random YAML, SQL, Jinja and CSV thrown at the loaders never crash pds with anything
but a ProjectError (which the CLI prints with file and line, exit 2). Runs in-process for speed."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pds_core.config import ProjectConfig, validate_folder_config, validate_node_config
from pds_core.errors import ProjectError
from pds_core.graph import build_graph
from pds_core.loader import load_project
from pds_core.parser import parse_project
from pds_core.plan import Options, plan
from pds_core.profiles import load_target
from pds_core.schema_yml import read_schema_files
from pds_core.seedcheck import check_seed
from pds_core.yamlio import load_yaml_text

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
# a random config may hold a key pds does not act on yet: a warning, which is 'accepted' here
pytestmark = pytest.mark.filterwarnings("ignore::pds_core.not_acted_on.ProjectWarning")

SQL_TOKENS = ["select", "from", "where", "as", "join", "on", "group by", "order by", "union all", "with", "case",
              "when", "then", "end", "and", "or", "not", "null", "*", ",", "(", ")", "'", '"', "`", ";", "::", "--",
              "/*", "*/", "\n", "1", "2.5", "x", "ok", "id", "é", "\x00", "$$", "[", "]", "{", "}", "{{", "}}",
              "{%", "%}", "{#", "#}", "{{ ref('ok') }}", "{{ ref('nope') }}", "{{ var('v') }}", "{{ this }}",
              "{{ config(materialized='table') }}", "{{ config(materialized=1) }}", "{{ source('s', 't') }}",
              "{% if is_incremental() %}", "{% endif %}", "{% for i in range(3) %}", "{% endfor %}",
              "{{ env_var('HOME') }}", "{{ ''.__class__ }}", "{% macro m() %}", "{% endmacro %}", "lateral",
              "qualify", "pivot", "interval", "@", "?", "%s", "\\", "\t"]
sql_text = st.lists(st.sampled_from(SQL_TOKENS) | st.text(max_size=4), max_size=30).map(" ".join)

scalars = st.none() | st.booleans() | st.integers(-5, 10 ** 12) | st.floats(allow_nan=True) | st.text(max_size=12)
KEYS = ["name", "profile", "models", "seeds", "vars", "+materialized", "materialized", "+tags", "columns",
        "tests", "data_tests", "config", "description", "sources", "tables", "schema", "model-paths", "dialect",
        "outputs", "target", "type", "path", "threads", "version", "+enabled", "enabled", "unique_key",
        "column_types", "+schema", "alias", "identifier", "quoting"]
yaml_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), children, max_size=5),
    max_leaves=25)
YAML_BITS = ["-", ":", "{", "}", "[", "]", "&a", "*a", "!!python/object:os.system", "!!binary", "'", '"', "\t",
             "\n", "  ", "#", "|", ">", "?", "%YAML 1.1", "---", "...", "key", "name: x", "\x00", "é"]
yaml_text = st.lists(st.sampled_from(YAML_BITS) | st.text(max_size=5), max_size=30).map("".join)


def only_project_errors(func: Any, *args: Any) -> Any:
    try:
        return func(*args)
    except ProjectError:
        return None


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    (root / "models").mkdir()
    (root / "pds_project.yml").write_text("name: fuzz\nprofile: fuzz\nvars:\n  v: 1\n")
    (root / "models" / "ok.sql").write_text("select 1 as id\n")
    return root


@FUZZ
@given(text=yaml_text)
def test_yaml_text_never_crashes_the_loader(text: str) -> None:
    only_project_errors(load_yaml_text, text, "fuzz.yml")


@FUZZ
@given(data=yaml_values)
def test_random_project_config_is_accepted_or_a_project_error(data: Any, tmp_path_factory: Any) -> None:
    def check() -> None:
        loaded = load_yaml_text(yaml.safe_dump(data), "pds_project.yml")
        config = ProjectConfig.from_dict(loaded, Path("."))
        validate_folder_config(config.models, "pds_project.yml", "models")
        validate_folder_config(config.seeds, "pds_project.yml", "seeds")

    only_project_errors(check)


@FUZZ
@given(data=yaml_values)
def test_random_node_config_is_accepted_or_a_project_error(data: Any) -> None:
    if isinstance(data, dict):
        only_project_errors(validate_node_config, data, "models/x.sql", "config of model 'x'")


@FUZZ
@given(data=yaml_values, raw=st.booleans())
def test_random_schema_yaml_is_accepted_or_a_project_error(data: Any, raw: bool, project_dir: Path) -> None:
    path = project_dir / "models" / "s.yml"
    path.write_text(yaml.safe_dump(data) if not raw else str(data), encoding="utf-8")
    try:
        only_project_errors(read_schema_files, project_dir, ["models/s.yml"], "fuzz", "main", None)
    finally:
        path.unlink()


@FUZZ
@given(data=yaml_values)
def test_random_profiles_are_accepted_or_a_project_error(data: Any, tmp_path_factory: Any) -> None:
    folder = tmp_path_factory.mktemp("profiles")
    (folder / "profiles.yml").write_text(yaml.safe_dump({"fuzz": data} if isinstance(data, dict) else data))
    only_project_errors(load_target, folder, "fuzz", None, folder, {})


@FUZZ
@given(raw=st.binary(max_size=200) | st.lists(st.sampled_from(["a", ",", '"', "\n", "\r\n", "1", " ", ";", "é"]),
                                               max_size=40).map(lambda parts: "".join(parts).encode()),
       delimiter=st.sampled_from([",", ";", "\t", "||"]))
def test_random_csv_seeds_are_accepted_or_a_project_error(raw: bytes, delimiter: str) -> None:
    only_project_errors(check_seed, raw, "seeds/s.csv", delimiter)


@FUZZ
@given(sql=sql_text)
def test_random_sql_models_parse_and_compile_or_give_a_project_error(sql: str, project_dir: Path) -> None:
    (project_dir / "models" / "fuzzed.sql").write_text(sql, encoding="utf-8")
    shutil.rmtree(project_dir / "target", ignore_errors=True)

    def compile_it() -> None:
        project = load_project(project_dir)
        manifest = parse_project(project)
        build_graph(manifest)
        plan(project, Options(), None, "compile")

    only_project_errors(compile_it)


@FUZZ
@given(body=sql_text)
def test_random_python_models_are_inspected_or_a_project_error(body: str, project_dir: Path) -> None:
    path = project_dir / "models" / "fuzzed.py"
    path.write_text(f"def model(ctx):\n    return {body!r} if False else ctx.ref({body[:10]!r})\n"
                    if len(body) % 2 else body, encoding="utf-8")
    (project_dir / "models" / "fuzzed.sql").unlink(missing_ok=True)
    try:
        only_project_errors(lambda: parse_project(load_project(project_dir)))
    finally:
        path.unlink()
