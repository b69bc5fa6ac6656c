{#- Snowflake's versions of dbt's cross-database macros (what dbt-snowflake's give, written for pds);
    dateadd, datediff, listagg and split_part are Snowflake functions, so the defaults serve. -#}

{% macro snowflake__array_construct(inputs, data_type) -%}
  array_construct( {{ inputs | join(' , ') }} )
{%- endmacro %}

{% macro snowflake__bool_or(expression) -%}
  boolor_agg({{ expression }})
{%- endmacro %}

{% macro snowflake__cast(field, type) -%}
  {%- if type | upper == 'GEOGRAPHY' -%}to_geography({{ field }})
  {%- elif type | upper == 'GEOMETRY' -%}to_geometry({{ field }})
  {%- else -%}cast({{ field }} as {{ type }})
  {%- endif -%}
{%- endmacro %}

{% macro snowflake__escape_single_quotes(expression) -%}
  {{ expression | replace("'", "\\'") }}
{%- endmacro %}

{% macro snowflake__right(string_text, length_expression) -%}
  case when {{ length_expression }} = 0 then '' else right({{ string_text }}, {{ length_expression }}) end
{%- endmacro %}

{% macro snowflake__safe_cast(field, type) -%}
  {%- if type | upper == 'GEOMETRY' -%}try_to_geometry({{ field }})
  {%- elif type | upper == 'GEOGRAPHY' -%}try_to_geography({{ field }})
  {%- elif type | upper != 'VARIANT' -%}
    {#- try_cast takes a string: a number is passed as its literal -#}
    try_cast({{ dbt.string_literal(field) if field is number else field }} as {{ type }})
  {%- else -%}{{ adapter.dispatch('cast', 'dbt')(field, type) }}
  {%- endif -%}
{%- endmacro %}

{% macro snowflake__current_timestamp() -%}
  convert_timezone('UTC', current_timestamp())
{%- endmacro %}

{% macro snowflake__snapshot_get_time() -%}
  to_timestamp_ntz({{ current_timestamp() }})
{%- endmacro %}

{% macro snowflake__snapshot_string_as_time(timestamp) -%}
  {{ return("to_timestamp_ntz('" ~ timestamp ~ "')") }}
{%- endmacro %}

{% macro snowflake__current_timestamp_backcompat() -%}
  current_timestamp::{{ type_timestamp() }}
{%- endmacro %}

{% macro snowflake__current_timestamp_in_utc_backcompat() -%}
  convert_timezone('UTC', {{ snowflake__current_timestamp_backcompat() }})::{{ type_timestamp() }}
{%- endmacro %}

{% macro snowflake__get_columns_in_relation(relation) -%}
  {%- call statement('get_columns_in_relation', fetch_result=True) -%}
    select column_name, data_type, character_maximum_length, numeric_precision, numeric_scale
    from {{ relation.information_schema('columns') }}
    where table_name ilike '{{ relation.identifier }}'
    {%- if relation.schema %} and table_schema ilike '{{ relation.schema }}'{% endif %}
    order by ordinal_position
  {%- endcall -%}
  {{ return(sql_convert_columns_in_relation(load_result('get_columns_in_relation').table)) }}
{%- endmacro %}
