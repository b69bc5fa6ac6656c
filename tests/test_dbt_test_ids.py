"""Tests carry their dbt names: generic tests get dbt-core 1.11's names, unique ids (with its hash) and, for
long names, its short alias; and are selected as dbt selects them (by name, test_type:, test_name:,
resource_type:, --exclude). The expected ids are those `dbt parse` wrote for the same files (dbt 1.11.16,
with a dbt_utils stand-in package so that dbt resolves the namespaced tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dbt_kit import pds, write

SCHEMA = """
    version: 2
    models:
      - name: orders
        data_tests:
          - dbt_utils.unique_combination_of_columns:
              arguments:
                combination_of_columns: [order_id, customer_id]
          - dbt_utils.expression_is_true:
              arguments: {expression: "amount >= 0"}
              config: {severity: warn}
        columns:
          - name: order_id
            data_tests: [unique, not_null]
          - name: status
            data_tests:
              - accepted_values:
                  arguments:
                    values: [placed, shipped, completed, return_pending, returned, a_very_long_status_to_force_the_hash]
              - accepted_values:
                  values: [placed, shipped]
                  config: {severity: warn}
          - name: customer_id
            data_tests:
              - relationships:
                  arguments: {to: ref('customers'), field: customer_id}
              - not_null:
                  name: orders_customer_id_is_set
          - name: amount
            data_tests:
              - dbt_utils.expression_is_true:
                  arguments: {expression: ">= 0"}
    sources:
      - name: shop_raw
        schema: main
        tables:
          - name: payments
            columns:
              - name: id
                data_tests: [unique, not_null]
    seeds:
      - name: raw_things
        columns:
          - name: id
            data_tests: [not_null]
    """
FILES = {
    "dbt_project.yml": "name: shop\nprofile: shop\n",
    "profiles.yml": "shop:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: shop.duckdb}\n",
    "seeds/raw_things.csv": "id,code\n1,a\n",
    "models/orders.sql": "select 1 as order_id, 1 as customer_id, 'placed' as status, 5 as amount\n",
    "models/customers.sql": "select 1 as customer_id\n",
    "models/payments_copy.sql": "select * from {{ source('shop_raw', 'payments') }}\n",
    "tests/assert_no_negative_amounts.sql": "select * from {{ ref('orders') }} where amount < 0\n",
    "models/schema.yml": SCHEMA,
}
# unique id -> alias, as dbt 1.11.16 wrote them in target/manifest.json for these files
DBT_IDS = {
    "test.shop.accepted_values_orders_status__placed__shipped.7de09bf3cd":
        "accepted_values_orders_status__placed__shipped",
    "test.shop.accepted_values_orders_status__placed__shipped__completed__return_pending__returned__a_very_long_"
    "status_to_force_the_hash.d89e76702b": "accepted_values_orders_aeadf7673b12ba1af30bd4b06260e6ef",
    "test.shop.assert_no_negative_amounts": "assert_no_negative_amounts",
    "test.shop.dbt_utils_expression_is_true_orders_amount_0.23e56bc9d2": "dbt_utils_expression_is_true_orders_amount_0",
    "test.shop.dbt_utils_expression_is_true_orders_amount___0.7027754fac":
        "dbt_utils_expression_is_true_orders_amount___0",
    "test.shop.dbt_utils_unique_combination_of_columns_orders_order_id__customer_id.f95c9d9bf3":
        "dbt_utils_unique_combination_o_8df945e3cf9214407fe2517dbcd52030",
    "test.shop.not_null_orders_order_id.cf6c17daed": "not_null_orders_order_id",
    "test.shop.not_null_raw_things_id.a815676ccb": "not_null_raw_things_id",
    "test.shop.orders_customer_id_is_set.4db110c15e": "orders_customer_id_is_set",
    "test.shop.relationships_orders_customer_id__customer_id__ref_customers_.c6ec7f58f2":
        "relationships_orders_customer_id__customer_id__ref_customers_",
    "test.shop.source_not_null_shop_raw_payments_id.73ec5432d7": "source_not_null_shop_raw_payments_id",
    "test.shop.source_unique_shop_raw_payments_id.bac3794c34": "source_unique_shop_raw_payments_id",
    "test.shop.unique_orders_order_id.fed79b3a6e": "unique_orders_order_id",
}


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return write(tmp_path / "shop", FILES)


def test_generic_tests_have_dbts_names_ids_and_aliases(shop: Path) -> None:
    import pds as api

    manifest = api.parse(api.load(shop))
    tests = manifest.quality.tests
    assert {uid: t.alias for uid, t in tests.items()} == DBT_IDS
    long = tests["test.shop.dbt_utils_unique_combination_of_columns_orders_order_id__customer_id.f95c9d9bf3"]
    assert (long.name, long.namespace, long.test_name) == (
        "dbt_utils_unique_combination_of_columns_orders_order_id__customer_id", "dbt_utils", "unique_combination")
    assert tests["test.shop.dbt_utils_expression_is_true_orders_amount_0.23e56bc9d2"].severity == "warn"


SELECTIONS = [  # (pds test --select ..., the tests that run)
    (["orders_customer_id_is_set"], {"orders_customer_id_is_set"}),
    (["test_type:singular"], {"assert_no_negative_amounts"}),
    (["test_name:not_null"], {"not_null_orders_order_id", "not_null_raw_things_id", "orders_customer_id_is_set",
                              "source_not_null_shop_raw_payments_id"}),
    (["test_name:dbt_utils.expression_is_true"], {"dbt_utils_expression_is_true_orders_amount_0",
                                                  "dbt_utils_expression_is_true_orders_amount___0"}),
    (["resource_type:test,test_type:generic,tag:nothing"], set()),
    (["source_*"], {"source_not_null_shop_raw_payments_id", "source_unique_shop_raw_payments_id"}),
]


@pytest.mark.parametrize(("select", "expected"), SELECTIONS)
def test_tests_are_selected_by_name_and_type_as_in_dbt(shop: Path, select: list[str], expected: set[str]) -> None:
    import pds as api
    from pds_core.plan import Options, plan
    from pds_core.quality.planner import select_quality

    the_plan = plan(api.load(shop), Options(select=select, validate=False), None, "test")
    assert {t.name for t in select_quality(the_plan, ("test",)).values()} == expected
    assert the_plan.selected == set()  # a test selection builds nothing


def test_build_runs_a_test_named_on_the_command_line_and_exclude_drops_one(shop: Path) -> None:
    pds(shop, "run", "--select", "orders", "customers")
    result = pds(shop, "build", "--select", "unique_orders_order_id")
    assert "Running build of 1 node" in result.stdout and "test unique_orders_order_id passed" in result.stdout
    result = pds(shop, "build", "--select", "orders", "--exclude", "test_name:accepted_values", "unique_orders_order_id")
    ran = [line.split()[-4] for line in result.stdout.splitlines() if " test " in line and "passed" in line]
    assert "unique_orders_order_id" not in ran and not [t for t in ran if t.startswith("accepted_values")]
    assert "not_null_orders_order_id" in ran and "dbt_utils_unique_combination_of_columns_orders_order_id__customer_id" in ran
