"""dbt's Jinja context for pds: macros by package with adapter.dispatch, dbt's own global macros for
every adapter (macros/), run_query/statement, the adapter object, api.Relation, docs blocks, and
generate_*_name. The Renderer (pds_core/render.py) puts them together; make_renderer builds one
for a loaded project; render_node_template renders any template string (a hook, a snapshot block)
for a node with the full context.
"""
