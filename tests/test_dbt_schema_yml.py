"""Schema YAML as dbt 1.11 reads it: values rendered with Jinja at parse time (descriptions and test
arguments later), a seed described under models: (a warning; its tests still attach), YAML snapshots built and kept in
the manifest, model versions and access accepted with a warning."""

from __future__ import annotations

from pathlib import Path

from tests.dbt_kit import manifest, pds, warnings_of, write

FILES = {
    "dbt_project.yml": "name: shop\nprofile: shop\n",
    "profiles.yml": "shop:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: shop.duckdb}\n",
    "seeds/codes.csv": "code\na\nb\n",
    "models/orders.sql": "select 1 as order_id, 'a' as code, timestamp '2024-01-01' as updated_at\n",
    "models/legacy.sql": "select 1 as id\n",
    "models/docs.md": "{% docs orders_doc %}\nthe orders\n{% enddocs %}\n",
    "models/schema.yml": """
        version: 2
        models:
          - name: orders
            description: "Orders {{ doc('orders_doc') }}"
            access: public
            config:
              tags: ["{{ var('orders_tag', 'core') }}"]
              enabled: "{{ var('orders_on', true) }}"
            columns:
              - name: code
                data_tests:
                  - relationships:
                      arguments:
                        to: ref('codes')
                        field: code
          - name: codes
            columns:
              - name: code
                data_tests:
                  - unique:
                      config: {severity: warn, frobnicate: true}
          - name: legacy
            config:
              enabled: "{{ var('legacy_on', false) }}"
        snapshots:
          - name: orders_history
            relation: ref('orders')
            config: {strategy: timestamp, unique_key: order_id, updated_at: updated_at}
        """,
}


def test_schema_yaml_is_rendered_and_kept_as_dbt_reads_it(tmp_path: Path) -> None:
    project = write(tmp_path / "shop", FILES)
    result = pds(project, "build", "--vars", "{orders_tag: finance}")
    data = manifest(project)
    assert set(data["nodes"]) == {"model.shop.orders", "seed.shop.codes",  # legacy: enabled renders to false
                                  "snapshot.shop.orders_history"}
    assert "finance" in data["nodes"]["model.shop.orders"]["config"]["tags"]
    warned = "\n".join(warnings_of(result))
    assert "models/schema.yml:16: 'codes' is a seed, but it is described under models:" in warned  # as dbt warns
    assert set(data["tests"]) == {  # as dbt 1.11.16 names them; unique_codes_code attached to the seed all the same
        "test.shop.relationships_orders_code__code__ref_codes_.58dc36ac81", "test.shop.unique_codes_code.76b3eef73e"}
    assert data["tests"]["test.shop.unique_codes_code.76b3eef73e"]["attached_to"] == "seed.shop.codes"
    assert "models/schema.yml:5: 'access' in model 'orders' is accepted but not acted on" in warned, warned
    assert data["snapshot_properties"]["orders_history"]["config"]["unique_key"] == "order_id"
    # a test config key neither dbt nor pds knows is kept, as dbt keeps it, with a warning naming it
    assert "models/schema.yml:20: 'frobnicate' in test 'unique' is not a config key dbt or pds knows" in warned, warned
    assert "test unique_codes_code passed" in result.stdout  # severity warn: passes all the same
    off = pds(project, "ls", "--vars", "{orders_on: false}", expect=None)
    assert "orders" not in off.stdout.split()
