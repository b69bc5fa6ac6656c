"""Snapshots: dbt's slowly changing dimension tables (type 2), parsed, planned and run as dbt-core 1.11 does.

parser.py reads `{% snapshot %}` blocks and YAML-defined snapshots into manifest nodes (resource_type
"snapshot"); config.py checks their config and makes the SnapshotSpec the adapter builds from; runner.py
runs one snapshot through adapter.snapshot() (pds_adapters/snapshots.py), deciding nothing itself: what
stands in the warehouse and its columns come from the plan's BuildDecision.
"""
