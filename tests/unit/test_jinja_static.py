"""The static fast path (pds_core/jinja/static.py) gives exactly what Jinja gives: every shape of model
below is parsed with the fast path and with Jinja alone, and each node's SQL, refs, sources, config and
the other things the render recorded must be the same; the shapes it must leave to Jinja are checked
too, and so are its errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from pds_core import api
from pds_core.errors import ProjectError
from pds_core.jinja import static
from pds_core.parser import Parser
from tests.compile_project import write_project

STATIC = {  # name -> model text: rendered by the fast path
    "plain": "select 1 as id\n",
    "one_ref": "select * from {{ ref('base') }}\n",
    "tight": "select * from {{ref('base')}} join {{  ref( \"base\" )  }} using (id)",
    "two_arg_ref": "select * from {{ ref('cproj', 'base') }}\n",
    "source": "select * from {{ source('app', 'events') }} -- {{ source(\"app\", \"events\") }}\n",
    "config_first": "{{ config(materialized='table', tags=['a', 'b'], enabled=true, alias='cfg_alias') }}\n"
                    "select id from {{ ref('base') }}\n",
    "config_kwargs": "{{ config(materialized=\"view\", full_refresh=False, meta={}) }}select 2 as id\n",
    "vars": "select '{{ var(\"region\") }}' as r, {{ var('n', 3) }} as n, '{{ var('missing', 'dflt') }}' as d,\n"
            "  '{{ var('listed') }}' as l, '{{ var('none_default', none) }}' as nd\n",
    "trailing_no_newline": "select id from {{ ref('base') }}",
    "braces_and_unicode": "select '{x}' as a, '}}' as b, 'é—✓' as c, id from {{ ref('base') }} -- }\n\n\n",
    "adjacent": "select * from {{ ref('base') }}{{ ref('base') }}\n",
    "trailing_comma": "select * from {{ ref('base',) }}\n",
    "implicit_concat": "select * from {{ ref('ba' 'se') }}\n",
    "number_arg": "select {{ var('n', 10) }} as n, {{ var('missing', 1_000) }} as m\n",
    "dict_arg": "{{ config(meta={'owner': 'ann', 'n': [1, 2]}, materialized='view') }}select 3 as id\n",
}

JINJA = {  # name -> model text: needs Jinja (split() says so)
    "filter": "select * from {{ ref('base') | string }}\n",
    "block": "{% if true %}select 1 as id{% endif %}\n",
    "comment": "{# note #}select 1 as id\n",
    "whitespace_control": "select\n  {{- ' 1' }} as id\n",
    "trim_right": "select {{ var('n', 1) -}}  as id\n",
    "concat_op": "select '{{ 'a' ~ 'b' }}' as id\n",
    "attribute": "select * from {{ ref('base').identifier }}\n",
    "subscript": "select '{{ var('mapping')['k'] }}' as k\n",
    "name_arg": "select * from {{ ref(var('base_name')) }}\n",
    "backslash": "select '{{ var('missing', 'a\\nb') }}' as x\n",
    "crlf": "select 1 as id\r\nfrom {{ ref('base') }}\r\n",
    "macro": "select {{ cents('amount') }} as dollars from {{ ref('base') }}\n",
    "kwargs_splat": "{{ config(**{'materialized': 'view'}) }}select 1 as id\n",
    "float_arg": "select {{ var('missing', 1.5) }} as f\n",
    "negative": "select {{ var('missing', -1) }} as f\n",
    "string_with_close": "select * from {{ ref('base') }} where '{{ \"}}\" }}' = '}}'\n",
}

PROJECT = {
    "pds_project.yml": "name: cproj\nprofile: cproj\nmodel-paths: [models]\nmacro-paths: [macros]\n"
                       "vars:\n  region: eu\n  n: 5\n  listed: [1, 2]\n  base_name: base\n  mapping: {k: v}\n",
    "macros/cents.sql": "{% macro cents(col) %}{{ col }} / 100{% endmacro %}\n",
    "models/base.sql": "select 1 as id\n",
    "models/sources.yml": "version: 2\nsources:\n  - name: app\n    schema: raw\n    tables:\n      - name: events\n",
}


def parsed(root: Path, static_path: bool) -> dict[str, tuple]:
    parser = Parser(api.load(root), use_cache=False)
    parser.renderer.static_path = static_path
    manifest = parser.parse()
    return {n.name: (n.rendered, n.refs, n.sources, n.config, n.env_vars, n.uses_is_incremental,
                     n.renders_with_warehouse, n.relation)
            for n in manifest.nodes.values()}


def test_shapes_split_as_expected():
    assert all(static.split(text) is not None for text in STATIC.values())
    assert [name for name, text in JINJA.items() if static.split(text) is not None] == []


@pytest.mark.parametrize("models", [STATIC, JINJA], ids=["static", "jinja"])
def test_fast_path_renders_exactly_what_jinja_renders(tmp_path, monkeypatch, models):
    root = write_project(tmp_path / "p", {**PROJECT, **{f"models/{k}.sql": v for k, v in models.items()}})
    # write_project dedents and strips leading newlines: write the texts exactly as given
    for name, text in models.items():
        (root / f"models/{name}.sql").write_bytes(text.encode())
    calls: list[int] = []
    real = static.render
    monkeypatch.setattr(static, "render", lambda *a: calls.append(1) or real(*a))
    fast = parsed(root, static_path=True)
    taken = len(calls)
    slow = parsed(root, static_path=False)
    assert len(calls) == taken  # Jinja alone: the fast path was not used
    assert fast == slow
    # + base.sql; of the others only crlf.sql, whose line ends the file reader normalized already
    assert taken == (len(models) + 1 if models is STATIC else 2)
    if models is STATIC:
        assert fast["vars"][0] == "select 'eu' as r, 5 as n, 'dflt' as d,\n  '[1, 2]' as l, 'None' as nd\n"
        assert fast["config_first"][3]["alias"] == "cfg_alias" and fast["config_first"][1] == ["base"]


@pytest.mark.parametrize("text", [
    "select * from {{ ref(1) }}\n",
    "select * from\n\n{{ ref('nope', 'a', 'b') }}\n",
    "select '{{ var('not_defined') }}' as x\n",
    "select '{{' as x\n",
    "{{ config(materialized='table') }}\nselect * from {{ source('app', 'missing_table') }}\n",
])
def test_errors_are_jinja_s_errors(tmp_path, text):
    root = write_project(tmp_path / "p", {**PROJECT, "models/bad.sql": ""})
    (root / "models/bad.sql").write_bytes(text.encode())
    messages = []
    for static_path in (True, False):
        with pytest.raises(ProjectError) as caught:
            parser = Parser(api.load(root), use_cache=False)
            parser.renderer.static_path = static_path
            parser.parse()
        messages.append(str(caught.value))
    assert messages[0] == messages[1]
