{#- dbt's cross-database macros: each one dispatches in the `dbt` namespace, so a project's (or a
    `dispatch:` search order's) `<adapter>__name` / `default__name` wins, then the target adapter's
    version in macros/adapters/, then the `default__` here. Written for pds; same SQL semantics as dbt. -#}

{% macro any_value(expression) -%}
  {{ return(adapter.dispatch('any_value', 'dbt')(expression)) }}
{%- endmacro %}
{% macro default__any_value(expression) -%}
  any_value({{ expression }})
{%- endmacro %}

{% macro array_append(array, new_element) -%}
  {{ return(adapter.dispatch('array_append', 'dbt')(array, new_element)) }}
{%- endmacro %}
{% macro default__array_append(array, new_element) -%}
  array_append({{ array }}, {{ new_element }})
{%- endmacro %}

{% macro array_concat(array_1, array_2) -%}
  {{ return(adapter.dispatch('array_concat', 'dbt')(array_1, array_2)) }}
{%- endmacro %}
{% macro default__array_concat(array_1, array_2) -%}
  array_cat({{ array_1 }}, {{ array_2 }})
{%- endmacro %}

{% macro array_construct(inputs=[], data_type=api.Column.translate_type('integer')) -%}
  {{ return(adapter.dispatch('array_construct', 'dbt')(inputs, data_type)) }}
{%- endmacro %}
{% macro default__array_construct(inputs, data_type) -%}
  {%- if inputs | length > 0 -%} array[ {{ inputs | join(' , ') }} ]
  {%- else -%} array[]::{{ data_type }}[]
  {%- endif -%}
{%- endmacro %}

{% macro bool_or(expression) -%}
  {{ return(adapter.dispatch('bool_or', 'dbt')(expression)) }}
{%- endmacro %}
{% macro default__bool_or(expression) -%}
  bool_or({{ expression }})
{%- endmacro %}

{% macro cast(field, type) -%}
  {{ return(adapter.dispatch('cast', 'dbt')(field, type)) }}
{%- endmacro %}
{% macro default__cast(field, type) -%}
  cast({{ field }} as {{ type }})
{%- endmacro %}

{% macro cast_bool_to_text(field) -%}
  {{ adapter.dispatch('cast_bool_to_text', 'dbt')(field) }}
{%- endmacro %}
{% macro default__cast_bool_to_text(field) -%}
  cast({{ field }} as {{ api.Column.translate_type('string') }})
{%- endmacro %}

{% macro concat(fields) -%}
  {{ return(adapter.dispatch('concat', 'dbt')(fields)) }}
{%- endmacro %}
{% macro default__concat(fields) -%}
  {{ fields | join(' || ') }}
{%- endmacro %}

{% macro date(year, month, day) -%}
  {{ return(adapter.dispatch('date', 'dbt')(year, month, day)) }}
{%- endmacro %}
{% macro default__date(year, month, day) -%}
  {%- set iso = modules.datetime.date(year, month, day).strftime('%Y-%m-%d') -%}
  to_date('{{ iso }}', 'YYYY-MM-DD')
{%- endmacro %}

{% macro date_trunc(datepart, date) -%}
  {{ return(adapter.dispatch('date_trunc', 'dbt')(datepart, date)) }}
{%- endmacro %}
{% macro default__date_trunc(datepart, date) -%}
  date_trunc('{{ datepart }}', {{ date }})
{%- endmacro %}

{% macro dateadd(datepart, interval, from_date_or_timestamp) -%}
  {{ return(adapter.dispatch('dateadd', 'dbt')(datepart, interval, from_date_or_timestamp)) }}
{%- endmacro %}
{% macro default__dateadd(datepart, interval, from_date_or_timestamp) -%}
  dateadd({{ datepart }}, {{ interval }}, {{ from_date_or_timestamp }})
{%- endmacro %}

{% macro datediff(first_date, second_date, datepart) -%}
  {{ return(adapter.dispatch('datediff', 'dbt')(first_date, second_date, datepart)) }}
{%- endmacro %}
{% macro default__datediff(first_date, second_date, datepart) -%}
  datediff({{ datepart }}, {{ first_date }}, {{ second_date }})
{%- endmacro %}

{% macro equals(expr1, expr2) -%}
  {{ return(adapter.dispatch('equals', 'dbt')(expr1, expr2)) }}
{%- endmacro %}
{% macro default__equals(expr1, expr2) -%}
  ({{ expr1 }} = {{ expr2 }})
{%- endmacro %}

{% macro escape_single_quotes(expression) -%}
  {{ return(adapter.dispatch('escape_single_quotes', 'dbt')(expression)) }}
{%- endmacro %}
{% macro default__escape_single_quotes(expression) -%}
  {{ expression | replace("'", "''") }}
{%- endmacro %}

{% macro except() -%}
  {{ return(adapter.dispatch('except', 'dbt')()) }}
{%- endmacro %}
{% macro default__except() -%}
  except
{%- endmacro %}

{% macro intersect() -%}
  {{ return(adapter.dispatch('intersect', 'dbt')()) }}
{%- endmacro %}
{% macro default__intersect() -%}
  intersect
{%- endmacro %}

{% macro hash(field) -%}
  {{ return(adapter.dispatch('hash', 'dbt')(field)) }}
{%- endmacro %}
{% macro default__hash(field) -%}
  md5(cast({{ field }} as {{ api.Column.translate_type('string') }}))
{%- endmacro %}

{% macro last_day(date, datepart) -%}
  {{ return(adapter.dispatch('last_day', 'dbt')(date, datepart)) }}
{%- endmacro %}
{%- macro default_last_day(date, datepart) -%}
  cast({{ dbt.dateadd('day', '-1', dbt.dateadd(datepart, '1', dbt.date_trunc(datepart, date))) }} as date)
{%- endmacro -%}
{% macro default__last_day(date, datepart) -%}
  {{ dbt.default_last_day(date, datepart) }}
{%- endmacro %}

{% macro length(expression) -%}
  {{ return(adapter.dispatch('length', 'dbt')(expression)) }}
{%- endmacro %}
{% macro default__length(expression) -%}
  length({{ expression }})
{%- endmacro %}

{% macro listagg(measure, delimiter_text="','", order_by_clause=none, limit_num=none) -%}
  {{ return(adapter.dispatch('listagg', 'dbt')(measure, delimiter_text, order_by_clause, limit_num)) }}
{%- endmacro %}
{% macro default__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
  {%- if limit_num -%}
    array_to_string(array_slice(array_agg({{ measure }})
      {%- if order_by_clause %} within group ({{ order_by_clause }}){% endif %}, 0, {{ limit_num }}), {{ delimiter_text }})
  {%- else -%}
    listagg({{ measure }}, {{ delimiter_text }})
    {%- if order_by_clause %} within group ({{ order_by_clause }}){% endif %}
  {%- endif -%}
{%- endmacro %}

{% macro string_literal(value) -%}
  {{ return(adapter.dispatch('string_literal', 'dbt')(value)) }}
{%- endmacro %}
{% macro default__string_literal(value) -%}
  '{{ value }}'
{%- endmacro %}

{% macro position(substring_text, string_text) -%}
  {{ return(adapter.dispatch('position', 'dbt')(substring_text, string_text)) }}
{%- endmacro %}
{% macro default__position(substring_text, string_text) -%}
  position({{ substring_text }} in {{ string_text }})
{%- endmacro %}

{% macro replace(field, old_chars, new_chars) -%}
  {{ return(adapter.dispatch('replace', 'dbt')(field, old_chars, new_chars)) }}
{%- endmacro %}
{% macro default__replace(field, old_chars, new_chars) -%}
  replace({{ field }}, {{ old_chars }}, {{ new_chars }})
{%- endmacro %}

{% macro right(string_text, length_expression) -%}
  {{ return(adapter.dispatch('right', 'dbt')(string_text, length_expression)) }}
{%- endmacro %}
{% macro default__right(string_text, length_expression) -%}
  right({{ string_text }}, {{ length_expression }})
{%- endmacro %}

{% macro safe_cast(field, type) -%}
  {{ return(adapter.dispatch('safe_cast', 'dbt')(field, type)) }}
{%- endmacro %}
{% macro default__safe_cast(field, type) -%}
  cast({{ field }} as {{ type }})
{%- endmacro %}

{% macro split_part(string_text, delimiter_text, part_number) -%}
  {{ return(adapter.dispatch('split_part', 'dbt')(string_text, delimiter_text, part_number)) }}
{%- endmacro %}
{% macro default__split_part(string_text, delimiter_text, part_number) -%}
  split_part({{ string_text }}, {{ delimiter_text }}, {{ part_number }})
{%- endmacro %}
{% macro _split_part_negative(string_text, delimiter_text, part_number) -%}
  {#- counted from the end: the number of parts is the number of delimiters plus one -#}
  split_part({{ string_text }}, {{ delimiter_text }},
    length({{ string_text }}) - length(replace({{ string_text }}, {{ delimiter_text }}, '')) + 2 + {{ part_number }})
{%- endmacro %}

{% macro current_timestamp() -%}
  {{ adapter.dispatch('current_timestamp', 'dbt')() }}
{%- endmacro %}
{% macro default__current_timestamp() -%}
  {{ exceptions.raise_not_implemented('current_timestamp is not implemented for ' ~ adapter.type()) }}
{%- endmacro %}

{% macro current_timestamp_backcompat() -%}
  {{ return(adapter.dispatch('current_timestamp_backcompat', 'dbt')()) }}
{%- endmacro %}
{% macro default__current_timestamp_backcompat() -%}
  current_timestamp::timestamp
{%- endmacro %}
{% macro current_timestamp_in_utc_backcompat() -%}
  {{ return(adapter.dispatch('current_timestamp_in_utc_backcompat', 'dbt')()) }}
{%- endmacro %}
{% macro default__current_timestamp_in_utc_backcompat() -%}
  {{ return(adapter.dispatch('current_timestamp_backcompat', 'dbt')()) }}
{%- endmacro %}

{% macro snapshot_get_time() -%}
  {{ adapter.dispatch('snapshot_get_time', 'dbt')() }}
{%- endmacro %}
{% macro default__snapshot_get_time() -%}
  {{ current_timestamp() }}
{%- endmacro %}
