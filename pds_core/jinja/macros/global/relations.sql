{#- Where nodes go (generate_database_name, generate_schema_name, generate_alias_name: a project overrides
    them by defining its own), and the relation look-ups dbt's macros and packages call. -#}

{% macro generate_database_name(custom_database_name=none, node=none) -%}
  {{ return(adapter.dispatch('generate_database_name', 'dbt')(custom_database_name, node)) }}
{%- endmacro %}
{% macro default__generate_database_name(custom_database_name=none, node=none) -%}
  {%- if custom_database_name is none -%}{{ target.database }}{%- else -%}{{ custom_database_name }}{%- endif -%}
{%- endmacro %}

{% macro generate_schema_name(custom_schema_name=none, node=none) -%}
  {{ return(adapter.dispatch('generate_schema_name', 'dbt')(custom_schema_name, node)) }}
{%- endmacro %}
{% macro default__generate_schema_name(custom_schema_name, node) -%}
  {%- if custom_schema_name is none -%}{{ target.schema }}
  {%- else -%}{{ target.schema }}_{{ custom_schema_name | trim }}
  {%- endif -%}
{%- endmacro %}
{% macro generate_schema_name_for_env(custom_schema_name, node) -%}
  {%- if target.name == 'prod' and custom_schema_name is not none -%}{{ custom_schema_name | trim }}
  {%- else -%}{{ target.schema }}
  {%- endif -%}
{%- endmacro %}

{% macro generate_alias_name(custom_alias_name=none, node=none) -%}
  {{ return(adapter.dispatch('generate_alias_name', 'dbt')(custom_alias_name, node)) }}
{%- endmacro %}
{% macro default__generate_alias_name(custom_alias_name=none, node=none) -%}
  {%- if custom_alias_name -%}{{ custom_alias_name | trim }}
  {%- elif node.version -%}{{ return(node.name ~ '_v' ~ (node.version | string | replace('.', '_'))) }}
  {%- else -%}{{ node.name }}
  {%- endif -%}
{%- endmacro %}

{% macro load_relation(relation) -%}
  {{ return(adapter.get_relation(relation.database, relation.schema, relation.identifier)) }}
{%- endmacro %}
{% macro load_cached_relation(relation) -%}
  {{ return(adapter.get_relation(relation.database, relation.schema, relation.identifier)) }}
{%- endmacro %}

{% macro get_columns_in_relation(relation) -%}
  {{ return(adapter.dispatch('get_columns_in_relation', 'dbt')(relation)) }}
{%- endmacro %}
{% macro default__get_columns_in_relation(relation) -%}
  {%- call statement('get_columns_in_relation', fetch_result=True) -%}
    select column_name, data_type, character_maximum_length, numeric_precision, numeric_scale
    from {{ relation.information_schema('columns') }}
    where lower(table_name) = lower('{{ relation.identifier }}')
    {%- if relation.schema %} and lower(table_schema) = lower('{{ relation.schema }}'){% endif %}
    order by ordinal_position
  {%- endcall -%}
  {{ return(sql_convert_columns_in_relation(load_result('get_columns_in_relation').table)) }}
{%- endmacro %}
{% macro sql_convert_columns_in_relation(table) -%}
  {%- set columns = [] -%}
  {%- for row in table -%}{%- do columns.append(api.Column(*row)) -%}{%- endfor -%}
  {{ return(columns) }}
{%- endmacro %}
{% macro get_list_of_column_names(columns) -%}
  {{ return(columns | map(attribute='name') | list) }}
{%- endmacro %}

{% macro should_full_refresh() -%}
  {%- set value = config.get('full_refresh') -%}
  {{ return(flags.FULL_REFRESH if value is none else value) }}
{%- endmacro %}
{% macro should_store_failures() -%}
  {%- set value = config.get('store_failures') -%}
  {{ return(flags.STORE_FAILURES if value is none else value) }}
{%- endmacro %}
