{#- Number series and date spines (dbt.generate_series, dbt.date_spine). get_intervals_between asks the
    warehouse how many periods lie between two dates: a model using it is rendered connected. -#}

{% macro get_powers_of_two(upper_bound) -%}
  {{ return(adapter.dispatch('get_powers_of_two', 'dbt')(upper_bound)) }}
{%- endmacro %}
{% macro default__get_powers_of_two(upper_bound) -%}
  {%- if upper_bound <= 0 -%}
    {{ exceptions.raise_compiler_error('generate_series: the upper bound must be positive') }}
  {%- endif -%}
  {%- for power in range(1, 100) -%}
    {%- if upper_bound <= 2 ** power -%}{{ return(power) }}{%- endif -%}
  {%- endfor -%}
{%- endmacro %}

{% macro generate_series(upper_bound) -%}
  {{ return(adapter.dispatch('generate_series', 'dbt')(upper_bound)) }}
{%- endmacro %}
{% macro default__generate_series(upper_bound) -%}
  {#- 1..upper_bound from the cross join of n two-row tables (bit i of the number minus one) -#}
  {%- set n = dbt.get_powers_of_two(upper_bound) -%}
  with p as (select 0 as generated_number union all select 1),
  unioned as (
    select
    {%- for i in range(n) %} p{{ i }}.generated_number * power(2, {{ i }}){% if not loop.last %} +{% endif %}{% endfor %}
      + 1 as generated_number
    from {% for i in range(n) %}p as p{{ i }}{% if not loop.last %} cross join {% endif %}{% endfor %}
  )
  select * from unioned where generated_number <= {{ upper_bound }} order by generated_number
{%- endmacro %}

{% macro get_intervals_between(start_date, end_date, datepart) -%}
  {{ return(adapter.dispatch('get_intervals_between', 'dbt')(start_date, end_date, datepart)) }}
{%- endmacro %}
{% macro default__get_intervals_between(start_date, end_date, datepart) -%}
  {%- call statement('get_intervals_between', fetch_result=True) -%}
    select {{ dbt.datediff(start_date, end_date, datepart) }}
  {%- endcall -%}
  {%- set found = load_result('get_intervals_between') -%}
  {%- if found and found['data'] -%}
    {{ return(found['data'][0][0]) }}
  {%- else -%}
    {{ return(1) }}
  {%- endif -%}
{%- endmacro %}

{% macro date_spine(datepart, start_date, end_date) -%}
  {{ return(adapter.dispatch('date_spine', 'dbt')(datepart, start_date, end_date)) }}
{%- endmacro %}
{% macro default__date_spine(datepart, start_date, end_date) -%}
  with rawdata as (
    {{ dbt.generate_series(dbt.get_intervals_between(start_date, end_date, datepart)) }}
  ),
  all_periods as (
    select ({{ dbt.dateadd(datepart, "row_number() over (order by 1) - 1", start_date) }}) as date_{{ datepart }}
    from rawdata
  ),
  filtered as (
    select * from all_periods where date_{{ datepart }} <= {{ end_date }}
  )
  select * from filtered
{%- endmacro %}
