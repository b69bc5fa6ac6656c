"""The corpus of broken projects for tests/test_reliability_bad_input.py.

Each Case is a small project (a valid base plus the files it breaks or adds), the command to run,
and what the error must say: exit code, the file and line it points at, words of the message, and a
hint. Files given as bytes are written as they are (for encodings); text is written as UTF-8.
"""

from __future__ import annotations

from dataclasses import dataclass, field

BASE: dict[str, str | bytes] = {
    "pds_project.yml": "name: bad\nprofile: bad\n",
    "profiles.yml": "bad:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: bad.duckdb\n",
    "models/ok.sql": "select 1 as id\n",
}


@dataclass
class Case:
    name: str
    files: dict[str, str | bytes | None]  # None deletes a base file
    where: str | None  # "path" or "path:line" expected at the start of the error
    says: tuple[str, ...]  # words the message must contain
    args: tuple[str, ...] = ("build",)
    code: int = 2
    hint: bool = True
    extra: dict[str, str] = field(default_factory=dict)  # environment


PY_OK = "import pandas as pd\n\n\ndef model(ctx):\n    return pd.DataFrame({'a': [1]})\n"
LATIN1 = "select 'caf\u00e9' as x\n".encode("latin-1")

CASES: list[Case] = [
    # ---- pds_project.yml ----------------------------------------------------------------------------
    Case("project_tab_indent", {"pds_project.yml": "name: bad\nprofile: bad\nvars:\n\tx: 1\n"},
         "pds_project.yml:4", ("invalid YAML",)),
    Case("project_unclosed_quote", {"pds_project.yml": "name: \"bad\nprofile: bad\n"},
         "pds_project.yml", ("invalid YAML",)),
    Case("project_duplicate_key", {"pds_project.yml": "name: bad\nprofile: bad\nname: other\n"},
         "pds_project.yml:3", ("duplicate key 'name'",)),
    Case("project_not_a_mapping", {"pds_project.yml": "- name\n- bad\n"}, "pds_project.yml:1", ("must be a mapping",)),
    Case("project_unknown_key", {"pds_project.yml": "name: bad\nprofle: bad\n"}, "pds_project.yml:2",
         ("unknown key 'profle'", "did you mean 'profile'")),
    Case("project_wrong_type", {"pds_project.yml": "name: bad\nprofile: bad\nmodel-paths: models\n"},
         "pds_project.yml:3", ("'model-paths'", "must be a list")),
    Case("project_vars_not_mapping", {"pds_project.yml": "name: bad\nprofile: bad\nvars: [1, 2]\n"},
         "pds_project.yml:3", ("'vars'", "must be a mapping")),
    Case("project_bad_name", {"pds_project.yml": "name: my-project\nprofile: bad\n"}, "pds_project.yml:1",
         ("must be a valid identifier",)),
    Case("project_no_name", {"pds_project.yml": "profile: bad\n"}, "pds_project.yml:1", ("has no 'name'",)),
    Case("project_bad_dialect", {"pds_project.yml": "name: bad\nprofile: bad\ndialect: duckdbb\n"},
         "pds_project.yml:3", ("unknown SQL dialect 'duckdbb'",)),
    Case("project_folder_config_typo", {"pds_project.yml": "name: bad\nprofile: bad\nmodels:\n  +materialised: table\n"},
         "pds_project.yml:4", ("'+materialised'", "did you mean 'materialized'")),
    Case("project_file_not_utf8", {"pds_project.yml": b"name: bad\nprofile: bad\n# caf\xe9\n"},
         "pds_project.yml:3", ("not valid UTF-8",)),
    Case("project_missing", {"pds_project.yml": None}, None, ("no pds_project.yml",)),
    # ---- profiles.yml -------------------------------------------------------------------------------
    Case("profile_missing_target", {"profiles.yml": BASE["profiles.yml"].replace("target: dev", "target: prod")},
         "profiles.yml:2", ("target 'prod' not found",)),
    Case("profile_cli_target_missing", {}, "profiles.yml", ("target 'prdo' not found",), args=("build", "--target", "prdo")),
    Case("profile_missing", {"profiles.yml": BASE["profiles.yml"].replace("bad:", "other:", 1)}, "profiles.yml:1",
         ("profile 'bad' not found",)),
    Case("profile_no_type", {"profiles.yml": "bad:\n  outputs:\n    dev:\n      path: x.duckdb\n"}, "profiles.yml:3",
         ("needs a 'type:'",)),
    Case("profile_unknown_type", {"profiles.yml": "bad:\n  outputs:\n    dev:\n      type: duckbd\n"}, "profiles.yml:4",
         ("no adapter for target type 'duckbd'", "did you mean 'duckdb'")),
    Case("profile_unknown_key", {"profiles.yml": BASE["profiles.yml"].replace("path:", "pth:")}, "profiles.yml:6",
         ("unknown key 'pth'", "did you mean 'path'", "duckdb targets take: type, threads, path")),
    Case("profile_bad_threads", {"profiles.yml": BASE["profiles.yml"] + "      threads: many\n"}, "profiles.yml:7",
         ("'threads' must be a positive number",)),
    Case("profile_env_var_missing", {"profiles.yml": BASE["profiles.yml"].replace(
         "path: bad.duckdb", "path: \"{{ env_var('PDS_NO_SUCH_VAR_X') }}\"")}, "profiles.yml:6",
         ("PDS_NO_SUCH_VAR_X", "not set")),
    Case("profile_yaml_broken", {"profiles.yml": "bad:\n  outputs: [\n"}, "profiles.yml", ("invalid YAML",)),
    # ---- schema YAML --------------------------------------------------------------------------------
    Case("schema_yaml_broken", {"models/schema.yml": "models:\n  - name: ok\n   description: x\n"},
         "models/schema.yml:3", ("invalid YAML",)),
    Case("schema_unknown_key", {"models/schema.yml": "models:\n  - name: ok\n    descripton: x\n"},
         "models/schema.yml:3", ("unknown key 'descripton'", "did you mean 'description'")),
    Case("schema_wrong_type", {"models/schema.yml": "models:\n  - name: ok\n    columns: id\n"},
         "models/schema.yml:3", ("'columns'", "must be a list")),
    Case("schema_unknown_model", {"models/schema.yml": "models:\n  - name: okk\n"}, "models/schema.yml:2",
         ("describes model 'okk', which does not exist", "did you mean 'ok'")),
    Case("schema_entry_without_name", {"models/schema.yml": "models:\n  - description: nameless\n"},
         "models/schema.yml:2", ("needs a 'name:'",)),
    Case("schema_column_without_name", {"models/schema.yml": "models:\n  - name: ok\n    columns:\n      - description: x\n"},
         "models/schema.yml:4", ("each column needs a 'name:'",)),
    Case("schema_not_utf8", {"models/schema.yml": b"models:\n  - name: ok\n    description: caf\xe9\n"},
         "models/schema.yml:3", ("not valid UTF-8",)),
    Case("schema_config_typo", {"models/schema.yml": "models:\n  - name: ok\n    config:\n      materialzed: table\n"},
         "models/schema.yml:4", ("unknown key 'materialzed'", "did you mean 'materialized'")),
    # ---- SQL models ---------------------------------------------------------------------------------
    Case("config_unknown_key", {"models/ok.sql": "{{ config(materialised='table') }}\nselect 1 as id\n"},
         "models/ok.sql:1", ("unknown key 'materialised'", "did you mean 'materialized'")),
    Case("config_wrong_type", {"models/ok.sql": "select 1 as id\n{{ config(enabled='yes') }}\n"},
         "models/ok.sql:2", ("'enabled'", "must be true or false")),
    Case("config_bad_materialization", {"models/ok.sql": "{{ config(materialized='tabel') }}\nselect 1 as id\n"},
         "models/ok.sql:1", ("unknown materialization 'tabel'", "did you mean 'table'")),
    Case("merge_without_unique_key", {"models/ok.sql": "{{ config(materialized='incremental', "
                                      "incremental_strategy='merge') }}\nselect 1 as id\n"},
         "models/ok.sql:1", ("needs a unique_key",)),
    Case("jinja_syntax_error", {"models/ok.sql": "select 1 as id,\n  {{ 1 + }} as x\n"}, "models/ok.sql:2",
         ("Jinja syntax error",)),
    Case("jinja_unclosed_block", {"models/ok.sql": "{% if true %}\nselect 1 as id\n"}, "models/ok.sql",
         ("Jinja syntax error",)),
    Case("undefined_variable", {"models/ok.sql": "select 1 as id,\n  {{ no_such_thing }} as x\n"}, "models/ok.sql:2",
         ("undefined", "no_such_thing")),
    Case("undefined_var", {"models/ok.sql": "select 1 as id,\n  {{ var('not_set') }} as x\n"}, "models/ok.sql:2",
         ("var 'not_set' is not defined",)),
    Case("ref_missing_model", {"models/b.sql": "select * from {{ ref('okay') }}\n"}, "models/b.sql:1",
         ("refers to 'okay', which is not a model or seed", "did you mean 'ok'")),
    Case("source_missing", {"models/b.sql": "\nselect * from {{ source('shop', 'orders') }}\n"}, "models/b.sql:2",
         ("source('shop', 'orders'), which is not declared",)),
    Case("cycle", {"models/a.sql": "select * from {{ ref('b') }}\n", "models/b.sql": "select * from {{ ref('a') }}\n"},
         None, ("cycle",)),
    Case("self_reference", {"models/a.sql": "select * from {{ ref('a') }}\n"}, None, ("cycle",)),
    Case("duplicate_model_names", {"models/one/x.sql": "select 1 as a\n", "models/two/x.sql": "select 2 as a\n"},
         "models/two/x.sql:1", ("two nodes are named 'x'",)),
    Case("model_and_seed_same_name", {"seeds/ok.csv": "a\n1\n"}, None, ("two nodes are named 'ok'",)),
    Case("sql_syntax_error", {"models/ok.sql": "select 1 as id\nfrom from where\n"}, "models/ok.sql:2", ()),
    Case("empty_sql_model", {"models/empty.sql": ""}, "models/empty.sql:1", ("model file is empty",)),
    Case("sql_renders_to_nothing", {"models/ok.sql": "{% if false %}select 1{% endif %}\n"}, "models/ok.sql:1",
         ("renders to no SQL",)),
    Case("sql_not_utf8", {"models/latin.sql": LATIN1}, "models/latin.sql:1", ("not valid UTF-8",)),
    Case("secret_env_var_in_model", {"models/ok.sql": "select 1 as id,\n  '{{ env_var('PDS_ENV_SECRET_TOKEN') }}' as t\n"},
         "models/ok.sql:2", ("PDS_ENV_SECRET_TOKEN is a secret",), extra={"PDS_ENV_SECRET_TOKEN": "tok-123"}),
    Case("jinja_sandbox_escape", {"models/ok.sql": "select 1 as id,\n  '{{ ''.__class__.__mro__ }}' as x\n"},
         "models/ok.sql:2", ("unsafe",)),
    Case("jinja_runaway_loop", {"models/ok.sql": "{% for i in range(10 ** 9) %}{% endfor %}\nselect 1 as id\n"},
         "models/ok.sql:1", ("Range too big",)),
    Case("macro_syntax_error", {"macros/m.sql": "{% macro m() %}\n{{ 1 + }}\n{% endmacro %}\n"}, "macros/m.sql:2",
         ("Jinja syntax error",)),
    Case("macro_defined_twice", {"macros/a.sql": "{% macro m() %}1{% endmacro %}\n",
                                 "macros/b.sql": "{% macro m() %}2{% endmacro %}\n"}, "macros/b.sql",
         ("macro 'm' is defined twice",)),
    Case("identifier_too_long_for_postgres", {f"models/{'m' * 70}.sql": "select 1 as id\n", "profiles.yml": (
         "bad:\n  target: pg\n  outputs:\n    pg:\n      type: postgres\n      host: 127.0.0.1\n"
         "      user: nobody\n      dbname: test\n      schema: s\n")},
         f"models/{'m' * 70}.sql:1", ("70 bytes long", "postgres keeps only the first 63")),
    # ---- Python models ------------------------------------------------------------------------------
    Case("python_syntax_error", {"models/p.py": "import pandas as pd\n\ndef model(ctx)\n    return 1\n"},
         "models/p.py:3", ("Python syntax error",)),
    Case("python_no_model_function", {"models/p.py": "import pandas as pd\n"}, "models/p.py:1",
         ("no top-level `def model(ctx):`",)),
    Case("python_empty_file", {"models/p.py": ""}, "models/p.py:1", ("Python model file is empty",)),
    Case("python_ref_not_literal", {"models/p.py": "def model(ctx):\n    name = 'ok'\n    return ctx.ref(name)\n"},
         "models/p.py:3", ("literal",)),
    Case("python_not_utf8", {"models/p.py": b"# caf\xe9\ndef model(ctx):\n    return None\n"}, "models/p.py:1",
         ("not valid UTF-8",)),
    Case("python_returns_no_dataframe", {"models/p.py": "def model(ctx):\n    return [1, 2, 3]\n"}, "models/p.py",
         ("returned list, not a DataFrame (pandas or polars)",), code=1, hint=False),
    Case("python_model_raises", {"models/p.py": "def model(ctx):\n    x = {}\n    return x['missing']\n"},
         "models/p.py:3", ("KeyError",), code=1),
    # ---- seeds --------------------------------------------------------------------------------------
    Case("seed_ragged_rows", {"seeds/s.csv": "a,b\n1,2\n3,4,5\n6,7\n"}, "seeds/s.csv:3",
         ("3 fields", "header has 2")),
    Case("seed_short_row", {"seeds/s.csv": "a,b,c\n1,2,3\n4\n"}, "seeds/s.csv:3", ("1 field", "header has 3")),
    Case("seed_empty_file", {"seeds/s.csv": ""}, "seeds/s.csv:1", ("empty",)),
    Case("seed_duplicate_header", {"seeds/s.csv": "a,a\n1,2\n"}, "seeds/s.csv:1", ("column 'a'", "twice")),
    Case("seed_blank_header", {"seeds/s.csv": "a,,c\n1,2,3\n"}, "seeds/s.csv:1", ("column 2", "no name")),
    Case("seed_not_utf8", {"seeds/s.csv": b"a,b\n1,caf\xe9\n"}, "seeds/s.csv:2", ("not valid UTF-8",)),
    Case("seed_unclosed_quote", {"seeds/s.csv": "a,b\n1,\"open\n2,3\n"}, "seeds/s.csv:2", ("quote",)),
    Case("seed_bad_column_type", {"seeds/s.csv": "a,b\n1,2\n",
                                  "seeds/schema.yml": "seeds:\n  - name: s\n    config:\n      column_types: "
                                                      "{a: 'integer); drop table x; --'}\n"},
         None, ("column_types",), code=1),
    # ---- the command line ---------------------------------------------------------------------------
    Case("cli_vars_malformed", {}, "--vars", ("invalid YAML",), args=("build", "--vars", "{a: [")),
    Case("cli_vars_not_mapping", {}, None, ("--vars must be a mapping",), args=("build", "--vars", "[1, 2]")),
]
