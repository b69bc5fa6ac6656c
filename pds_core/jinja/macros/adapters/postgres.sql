{#- Postgres's versions of dbt's cross-database macros (what dbt-postgres's give, written for pds). -#}

{% macro postgres__any_value(expression) -%}
  {#- Postgres has no any_value before 16: min() returns one of the values -#}
  min({{ expression }})
{%- endmacro %}

{% macro postgres__dateadd(datepart, interval, from_date_or_timestamp) -%}
  {{ from_date_or_timestamp }} + ((interval '1 {{ datepart }}') * ({{ interval }}))
{%- endmacro %}

{% macro postgres__datediff(first_date, second_date, datepart) -%}
  {%- set d1, d2 = first_date, second_date -%}
  {%- if datepart == 'year' -%}
    (date_part('year', ({{ d2 }})::date) - date_part('year', ({{ d1 }})::date))
  {%- elif datepart == 'quarter' -%}
    ({{ dbt.datediff(d1, d2, 'year') }} * 4 + date_part('quarter', ({{ d2 }})::date) - date_part('quarter', ({{ d1 }})::date))
  {%- elif datepart == 'month' -%}
    ({{ dbt.datediff(d1, d2, 'year') }} * 12 + date_part('month', ({{ d2 }})::date) - date_part('month', ({{ d1 }})::date))
  {%- elif datepart == 'day' -%}
    (({{ d2 }})::date - ({{ d1 }})::date)
  {%- elif datepart == 'week' -%}
    ({{ dbt.datediff(d1, d2, 'day') }} / 7 + case
      when date_part('dow', ({{ d1 }})::timestamp) <= date_part('dow', ({{ d2 }})::timestamp)
        then case when {{ d1 }} <= {{ d2 }} then 0 else -1 end
      else case when {{ d1 }} <= {{ d2 }} then 1 else 0 end
    end)
  {%- elif datepart == 'hour' -%}
    ({{ dbt.datediff(d1, d2, 'day') }} * 24 + date_part('hour', ({{ d2 }})::timestamp) - date_part('hour', ({{ d1 }})::timestamp))
  {%- elif datepart == 'minute' -%}
    ({{ dbt.datediff(d1, d2, 'hour') }} * 60 + date_part('minute', ({{ d2 }})::timestamp) - date_part('minute', ({{ d1 }})::timestamp))
  {%- elif datepart == 'second' -%}
    ({{ dbt.datediff(d1, d2, 'minute') }} * 60 + floor(date_part('second', ({{ d2 }})::timestamp)) - floor(date_part('second', ({{ d1 }})::timestamp)))
  {%- elif datepart == 'millisecond' -%}
    ({{ dbt.datediff(d1, d2, 'minute') }} * 60000 + floor(date_part('millisecond', ({{ d2 }})::timestamp)) - floor(date_part('millisecond', ({{ d1 }})::timestamp)))
  {%- elif datepart == 'microsecond' -%}
    ({{ dbt.datediff(d1, d2, 'minute') }} * 60000000 + floor(date_part('microsecond', ({{ d2 }})::timestamp)) - floor(date_part('microsecond', ({{ d1 }})::timestamp)))
  {%- else -%}
    {{ exceptions.raise_compiler_error("datediff on postgres does not know the datepart " ~ datepart) }}
  {%- endif -%}
{%- endmacro %}

{% macro postgres__last_day(date, datepart) -%}
  {%- if datepart == 'quarter' -%}
    cast({{ dbt.dateadd('day', '-1', dbt.dateadd('month', '3', dbt.date_trunc(datepart, date))) }} as date)
  {%- else -%}
    {{ dbt.default_last_day(date, datepart) }}
  {%- endif -%}
{%- endmacro %}

{% macro postgres__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
  {%- if limit_num -%}
    array_to_string((array_agg({{ measure }} {{ order_by_clause or '' }}))[1:{{ limit_num }}], {{ delimiter_text }})
  {%- else -%}
    string_agg({{ measure }}, {{ delimiter_text }} {{ order_by_clause or '' }})
  {%- endif -%}
{%- endmacro %}

{% macro postgres__split_part(string_text, delimiter_text, part_number) -%}
  {%- if part_number >= 0 -%}{{ dbt.default__split_part(string_text, delimiter_text, part_number) }}
  {%- else -%}{{ dbt._split_part_negative(string_text, delimiter_text, part_number) }}
  {%- endif -%}
{%- endmacro %}

{% macro postgres__current_timestamp() -%}
  now()
{%- endmacro %}

{% macro postgres__snapshot_get_time() -%}
  {{ current_timestamp() }}::timestamp without time zone
{%- endmacro %}

{% macro postgres__snapshot_string_as_time(timestamp) -%}
  {{ return("'" ~ timestamp ~ "'::timestamp without time zone") }}
{%- endmacro %}

{% macro postgres__current_timestamp_backcompat() -%}
  current_timestamp::{{ type_timestamp() }}
{%- endmacro %}

{% macro postgres__current_timestamp_in_utc_backcompat() -%}
  (current_timestamp at time zone 'utc')::{{ type_timestamp() }}
{%- endmacro %}
