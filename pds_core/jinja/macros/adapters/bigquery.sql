{#- BigQuery's versions of dbt's cross-database macros (what dbt-bigquery's give, written for pds). -#}

{% macro bigquery__array_append(array, new_element) -%}
  {{ array_concat(array, array_construct([new_element])) }}
{%- endmacro %}

{% macro bigquery__array_concat(array_1, array_2) -%}
  array_concat({{ array_1 }}, {{ array_2 }})
{%- endmacro %}

{% macro bigquery__array_construct(inputs, data_type) -%}
  {%- if inputs | length > 0 -%}[ {{ inputs | join(' , ') }} ]{%- else -%}ARRAY<{{ data_type }}>[]{%- endif -%}
{%- endmacro %}

{% macro bigquery__bool_or(expression) -%}
  logical_or({{ expression }})
{%- endmacro %}

{% macro bigquery__date(year, month, day) -%}
  date({{ year }}, {{ month }}, {{ day }})
{%- endmacro %}

{% macro bigquery__date_trunc(datepart, date) -%}
  timestamp_trunc(cast({{ date }} as timestamp), {{ datepart }})
{%- endmacro %}

{% macro bigquery__dateadd(datepart, interval, from_date_or_timestamp) -%}
  datetime_add(cast({{ from_date_or_timestamp }} as datetime), interval {{ interval }} {{ datepart }})
{%- endmacro %}

{% macro bigquery__datediff(first_date, second_date, datepart) -%}
  datetime_diff(cast({{ second_date }} as datetime), cast({{ first_date }} as datetime), {{ datepart }})
{%- endmacro %}

{% macro bigquery__escape_single_quotes(expression) -%}
  {{ expression | replace("'", "\\'") }}
{%- endmacro %}

{% macro bigquery__except() -%}
  except distinct
{%- endmacro %}

{% macro bigquery__intersect() -%}
  intersect distinct
{%- endmacro %}

{% macro bigquery__hash(field) -%}
  to_hex({{ dbt.default__hash(field) }})
{%- endmacro %}

{% macro bigquery__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
  string_agg({{ measure }}, {{ delimiter_text }} {{ order_by_clause or '' }} {% if limit_num %}limit {{ limit_num }}{% endif %})
{%- endmacro %}

{% macro bigquery__position(substring_text, string_text) -%}
  strpos({{ string_text }}, {{ substring_text }})
{%- endmacro %}

{% macro bigquery__right(string_text, length_expression) -%}
  case when {{ length_expression }} = 0 then '' else substr({{ string_text }}, -1 * ({{ length_expression }})) end
{%- endmacro %}

{% macro bigquery__safe_cast(field, type) -%}
  safe_cast({{ field }} as {{ type }})
{%- endmacro %}

{% macro bigquery__split_part(string_text, delimiter_text, part_number) -%}
  {%- if part_number >= 0 -%}
    split({{ string_text }}, {{ delimiter_text }})[safe_offset({{ part_number - 1 }})]
  {%- else -%}
    split({{ string_text }}, {{ delimiter_text }})[safe_offset(length({{ string_text }})
      - length(replace({{ string_text }}, {{ delimiter_text }}, '')) + 1 + {{ part_number }})]
  {%- endif -%}
{%- endmacro %}

{% macro bigquery__string_literal(value) -%}
  '''{{ value }}'''
{%- endmacro %}

{% macro bigquery__current_timestamp() -%}
  current_timestamp()
{%- endmacro %}

{% macro bigquery__snapshot_string_as_time(timestamp) -%}
  {{ return('TIMESTAMP("' ~ timestamp ~ '")') }}
{%- endmacro %}

{% macro bigquery__current_timestamp_backcompat() -%}
  current_timestamp
{%- endmacro %}

{% macro bigquery__get_columns_in_relation(relation) -%}
  {%- call statement('get_columns_in_relation', fetch_result=True) -%}
    select column_name, data_type, null, null, null
    from `{{ relation.database }}`.`{{ relation.schema }}`.INFORMATION_SCHEMA.COLUMNS
    where table_name = '{{ relation.identifier }}'
    order by ordinal_position
  {%- endcall -%}
  {{ return(sql_convert_columns_in_relation(load_result('get_columns_in_relation').table)) }}
{%- endmacro %}
