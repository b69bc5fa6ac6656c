"""The keys dbt-core 1.11 accepts, as plain data: so a dbt project loads unmodified, and what pds does
not act on is named in a warning rather than refused or silently dropped.

Lists of names only (read from dbt's documented schemas for dbt_project.yml and schema YAML); what
each key does in pds lives with the code that acts on it (config.py, schema_yml.py, not_acted_on.py).
"""

from __future__ import annotations

# The dbt-core version whose projects pds reads: `require-dbt-version` is checked against it, and
# hub packages are chosen among the versions that declare themselves compatible with it.
DBT_COMPATIBLE_VERSION = "1.11.0"

_STR, _INT, _FLOAT, _BOOL, _LIST, _DICT = str, int, float, bool, list, dict

# dbt_project.yml: every top-level key dbt 1.11 accepts (and the legacy source-paths / data-paths)
DBT_PROJECT_KEYS: dict[str, tuple[type, ...]] = {
    "name": (_STR,), "version": (_STR, _INT, _FLOAT), "config-version": (_INT,), "profile": (_STR,),
    "model-paths": (_LIST,), "seed-paths": (_LIST,), "test-paths": (_LIST,), "macro-paths": (_LIST,),
    "analysis-paths": (_LIST,), "snapshot-paths": (_LIST,), "docs-paths": (_LIST,), "asset-paths": (_LIST,),
    "function-paths": (_LIST,), "source-paths": (_LIST,), "data-paths": (_LIST,),
    "target-path": (_STR,), "log-path": (_STR,), "packages-install-path": (_STR,), "clean-targets": (_LIST,),
    "require-dbt-version": (_STR, _LIST), "dbt-cloud": (_DICT,), "quoting": (_DICT,),
    "query-comment": (_STR, _DICT), "dispatch": (_LIST,), "flags": (_DICT,), "restrict-access": (_BOOL,),
    "on-run-start": (_LIST, _STR), "on-run-end": (_LIST, _STR), "vars": (_DICT,),
    "models": (_DICT,), "seeds": (_DICT,), "snapshots": (_DICT,), "tests": (_DICT,), "data_tests": (_DICT,),
    "sources": (_DICT,), "analyses": (_DICT,), "unit_tests": (_DICT,), "metrics": (_DICT,),
    "semantic-models": (_DICT,), "saved-queries": (_DICT,), "exposures": (_DICT,), "functions": (_DICT,),
    "sync": (_DICT,),
}

# Config keys of models, seeds, snapshots, tests, sources, analyses and the semantic layer, in every
# adapter dbt documents (dbt-duckdb's external materialization and dbt-postgres' included).
DBT_CONFIG_KEYS: frozenset[str] = frozenset("""
access adapter_properties additional_libs alias as_columnstore auto_liquid_cluster auto_refresh
automatic_clustering backup base_location_root base_location_subpath batch_id batch_size begin bind buckets
cache catalog catalog_name category check_cols cluster_by cluster_id clustered_by column_types compression
concurrent_batches contract copy_grants create_notebook custom_checks database databricks_compute
databricks_tags dataproc_cluster_name dbt_valid_to_current delimiter description dist docs
enable_list_inference enable_refresh enabled error_if event_time export_as external_access_integrations
external_volume fail_calc file_format freshness full_refresh grant_access_to grants group hard_deletes
hours_to_expiration http_path imports include_full_name_in_path incremental_predicates incremental_strategy
index_url indexes initialize intermediate_format invalidate_hard_deletes jar_file_uri job_cluster_config
kms_key_name labels labels_from_meta limit liquid_clustered_by loaded_at_field loaded_at_query location
location_root lookback matched_condition materialized max_staleness merge_exclude_columns merge_update_columns
merge_with_schema_evolution meta not_matched_by_source_action not_matched_by_source_condition
not_matched_condition notebook_template_id on_configuration_change on_schema_change packages partition_by
partition_expiration_days partitions persist_docs post-hook post_hook pre-hook pre_hook predicates primary_key
python_job_config python_version query_tag quote_columns quoting refresh_interval_minutes refresh_mode
require_partition_filter resource_tags row_access_policy schedule schema schema_origin secrets secure severity
skip_matched_step skip_not_matched_step snapshot_meta_column_names snowflake_warehouse sort sort_type
source_alias sql_header state static_analysis store_failures store_failures_as strategy strictness
submission_method sync table_format table_tag table_type tags target_alias target_database target_lag
target_schema tblproperties timeout tmp_relation_type transient unique_key updated_at use_anonymous_sproc
user_folder_for_python warn_if where
format options glue_register glue_database plugin unlogged
""".split())  # noqa: SIM905

# dbt's spelling of the hook keys in dbt_project.yml (`+pre-hook`) -> the config name (`pre_hook`)
CONFIG_ALIASES = {"pre-hook": "pre_hook", "post-hook": "post_hook"}

# Schema YAML: what dbt reads in a models/**/*.yml file, by place
SCHEMA_TOP_KEYS = ("version", "models", "seeds", "snapshots", "analyses", "sources", "macros", "exposures",
                   "metrics", "semantic_models", "saved_queries", "groups", "unit_tests", "data_tests", "tests",
                   "functions", "anchors")
MODEL_ENTRY_KEYS = ("name", "description", "meta", "data_type", "constraints", "docs", "config", "data_tests",
                    "tests", "columns", "quote_columns", "access", "latest_version", "versions", "deprecation_date",
                    "time_spine", "group", "tags", "identifier", "semantic_model", "agg_time_dimension",
                    "primary_entity", "derived_semantics", "static_analysis_off_reason")
COLUMN_KEYS = ("name", "description", "meta", "data_type", "constraints", "docs", "config", "data_tests", "tests",
               "quote", "tags", "granularity", "policy_tags", "column_mask", "databricks_tags", "dimension", "entity")
VERSION_KEYS = ("v", "defined_in", "description", "access", "config", "constraints", "docs", "data_tests", "tests",
                "columns", "deprecation_date", "meta", "tags", "group")
SOURCE_KEYS = ("name", "description", "meta", "database", "schema", "loader", "quoting", "freshness",
               "loaded_at_field", "loaded_at_query", "tables", "tags", "config", "overrides", "catalog")
SOURCE_TABLE_KEYS = ("name", "description", "meta", "data_type", "constraints", "docs", "config", "data_tests",
                     "tests", "columns", "loaded_at_field", "loaded_at_query", "identifier", "quoting", "freshness",
                     "external", "tags", "loader")
