{#- DuckDB's versions of dbt's cross-database macros (what dbt-duckdb's give, written for pds). -#}

{% macro duckdb__any_value(expression) -%}
  arbitrary({{ expression }})
{%- endmacro %}

{% macro duckdb__date(year, month, day) -%}
  make_date({{ year }}, {{ month }}, {{ day }})
{%- endmacro %}

{% macro duckdb__dateadd(datepart, interval, from_date_or_timestamp) -%}
  {#- an interval of one unit times the amount, so the amount may be any expression -#}
  {%- set unit = datepart | lower -%}
  {%- if unit == 'quarter' -%}
    ({{ from_date_or_timestamp }} + (cast({{ interval }} as bigint) * 3) * interval 1 month)
  {%- elif unit == 'week' -%}
    ({{ from_date_or_timestamp }} + (cast({{ interval }} as bigint) * 7) * interval 1 day)
  {%- else -%}
    ({{ from_date_or_timestamp }} + cast({{ interval }} as bigint) * interval 1 {{ unit }})
  {%- endif -%}
{%- endmacro %}

{% macro duckdb__datediff(first_date, second_date, datepart) -%}
  {%- if datepart == 'week' -%}
    ({{ dbt.datediff(first_date, second_date, 'day') }} // 7 + case
      when date_part('dow', ({{ first_date }})::timestamp) <= date_part('dow', ({{ second_date }})::timestamp)
        then case when {{ first_date }} <= {{ second_date }} then 0 else -1 end
      else case when {{ first_date }} <= {{ second_date }} then 1 else 0 end
    end)
  {%- else -%}
    (date_diff('{{ datepart }}', {{ first_date }}::timestamp, {{ second_date }}::timestamp))
  {%- endif -%}
{%- endmacro %}

{% macro duckdb__generate_series(upper_bound) -%}
  select generate_series as generated_number from generate_series(1, {{ upper_bound }})
{%- endmacro %}

{% macro duckdb__last_day(date, datepart) -%}
  {%- if datepart == 'quarter' -%}
    cast({{ dbt.dateadd('day', '-1', dbt.dateadd('month', '3', dbt.date_trunc(datepart, date))) }} as date)
  {%- else -%}
    {{ dbt.default_last_day(date, datepart) }}
  {%- endif -%}
{%- endmacro %}

{% macro duckdb__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
  {%- if limit_num -%}
    list_aggr((array_agg({{ measure }} {{ order_by_clause or '' }}))[1:{{ limit_num }}], 'string_agg', {{ delimiter_text }})
  {%- else -%}
    string_agg({{ measure }}, {{ delimiter_text }} {{ order_by_clause or '' }})
  {%- endif -%}
{%- endmacro %}

{% macro duckdb__split_part(string_text, delimiter_text, part_number) -%}
  string_split({{ string_text }}, {{ delimiter_text }})[ {{ part_number }} ]
{%- endmacro %}

{% macro duckdb__current_timestamp() -%}
  now()
{%- endmacro %}

{% macro duckdb__snapshot_get_time() -%}
  {{ current_timestamp() }}::timestamp
{%- endmacro %}

{% macro duckdb__snapshot_string_as_time(timestamp) -%}
  {{ return("'" ~ timestamp ~ "'::timestamp") }}
{%- endmacro %}

{% macro duckdb__get_columns_in_relation(relation) -%}
  {%- call statement('get_columns_in_relation', fetch_result=True) -%}
    select column_name, column_type as data_type, cast(null as bigint) as character_maximum_length,
      cast(null as bigint) as numeric_precision, cast(null as bigint) as numeric_scale
    from (describe {{ relation.render() }})
  {%- endcall -%}
  {{ return(sql_convert_columns_in_relation(load_result('get_columns_in_relation').table)) }}
{%- endmacro %}
