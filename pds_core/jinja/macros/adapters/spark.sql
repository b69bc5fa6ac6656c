{#- Spark SQL's versions of dbt's cross-database macros (what dbt-spark's give, written for pds). -#}

{% macro spark__any_value(expression) -%}
  first({{ expression }})
{%- endmacro %}

{% macro spark__array_append(array, new_element) -%}
  {{ array_concat(array, array_construct([new_element])) }}
{%- endmacro %}

{% macro spark__array_concat(array_1, array_2) -%}
  concat({{ array_1 }}, {{ array_2 }})
{%- endmacro %}

{% macro spark__array_construct(inputs, data_type) -%}
  array( {{ inputs | join(' , ') }} )
{%- endmacro %}

{% macro assert_not_null(function, arg) -%}
  {{ return(adapter.dispatch('assert_not_null', 'dbt')(function, arg)) }}
{%- endmacro %}
{% macro spark__assert_not_null(function, arg) -%}
  {#- the function's value, failing the query at once when it is null for a non-null input -#}
  coalesce({{ function }}({{ arg }}), nvl2({{ function }}({{ arg }}), assert_true({{ function }}({{ arg }}) is not null), null))
{%- endmacro %}

{% macro spark__bool_or(expression) -%}
  max({{ expression }})
{%- endmacro %}

{% macro spark__concat(fields) -%}
  concat({{ fields | join(', ') }})
{%- endmacro %}

{% macro spark__date(year, month, day) -%}
  {%- set iso = modules.datetime.date(year, month, day).strftime('%Y-%m-%d') -%}
  to_date('{{ iso }}', 'yyyy-MM-dd')
{%- endmacro %}

{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
  {%- set day = assert_not_null('date', from_date_or_timestamp) -%}
  {%- set clock -%}
    to_unix_timestamp({{ assert_not_null('to_timestamp', from_date_or_timestamp) }}) - to_unix_timestamp({{ day }})
  {%- endset -%}
  {%- if datepart in ['day', 'week'] -%}
    to_timestamp(to_unix_timestamp(date_add({{ day }}, cast({{ interval }} * {{ 7 if datepart == 'week' else 1 }} as int))) + {{ clock }})
  {%- elif datepart in ['month', 'quarter', 'year'] -%}
    {%- set months = {'month': 1, 'quarter': 3, 'year': 12}[datepart] -%}
    to_timestamp(to_unix_timestamp(add_months({{ day }}, cast({{ interval }} * {{ months }} as int))) + {{ clock }})
  {%- elif datepart in ['hour', 'minute', 'second', 'millisecond', 'microsecond'] -%}
    {%- set seconds = {'hour': '3600', 'minute': '60', 'second': '1', 'millisecond': '(1/1000000)',
                       'microsecond': '(1/1000000)'}[datepart] -%}
    to_timestamp({{ assert_not_null('to_unix_timestamp', from_date_or_timestamp) }} + cast({{ interval }} * {{ seconds }} as int))
  {%- else -%}
    {{ exceptions.raise_compiler_error("dateadd on Spark does not know the datepart " ~ datepart) }}
  {%- endif -%}
{%- endmacro %}

{% macro spark__datediff(first_date, second_date, datepart) -%}
  {%- if datepart in ['day', 'week', 'month', 'quarter', 'year'] -%}
    {%- set first_date = assert_not_null('date', first_date) -%}
    {%- set second_date = assert_not_null('date', second_date) -%}
  {%- endif -%}
  {%- set a, b = first_date, second_date -%}
  {%- if datepart == 'day' -%}
    datediff({{ b }}, {{ a }})
  {%- elif datepart == 'week' -%}
    case when {{ a }} < {{ b }} then floor(datediff({{ b }}, {{ a }}) / 7) else ceil(datediff({{ b }}, {{ a }}) / 7) end
    + case when {{ a }} < {{ b }} and dayofweek({{ b }}) < dayofweek({{ a }}) then 1
           when {{ a }} > {{ b }} and dayofweek({{ b }}) > dayofweek({{ a }}) then -1 else 0 end
  {%- elif datepart == 'month' -%}
    case when {{ a }} < {{ b }} then floor(months_between(date({{ b }}), date({{ a }})))
         else ceil(months_between(date({{ b }}), date({{ a }}))) end
    + case when {{ a }} < {{ b }} and dayofmonth({{ b }}) < dayofmonth({{ a }}) then 1
           when {{ a }} > {{ b }} and dayofmonth({{ b }}) > dayofmonth({{ a }}) then -1 else 0 end
  {%- elif datepart == 'quarter' -%}
    case when {{ a }} < {{ b }} then floor(months_between(date({{ b }}), date({{ a }})) / 3)
         else ceil(months_between(date({{ b }}), date({{ a }})) / 3) end
    + case when {{ a }} < {{ b }} and (dayofyear({{ b }}) - (quarter({{ b }}) * 365 / 4)) < (dayofyear({{ a }}) - (quarter({{ a }}) * 365 / 4)) then 1
           when {{ a }} > {{ b }} and (dayofyear({{ b }}) - (quarter({{ b }}) * 365 / 4)) > (dayofyear({{ a }}) - (quarter({{ a }}) * 365 / 4)) then -1 else 0 end
  {%- elif datepart == 'year' -%}
    year({{ b }}) - year({{ a }})
  {%- elif datepart in ['hour', 'minute', 'second', 'millisecond', 'microsecond'] -%}
    {%- set divisor = {'hour': '3600', 'minute': '60', 'second': '1', 'millisecond': '(1/1000)',
                       'microsecond': '(1/1000000)'}[datepart] -%}
    {%- set seconds_b = assert_not_null('to_unix_timestamp', assert_not_null('to_timestamp', b)) -%}
    {%- set seconds_a = assert_not_null('to_unix_timestamp', assert_not_null('to_timestamp', a)) -%}
    case when {{ a }} < {{ b }} then ceil(({{ seconds_b }} - {{ seconds_a }}) / {{ divisor }})
         else floor(({{ seconds_b }} - {{ seconds_a }}) / {{ divisor }}) end
    {%- if datepart == 'millisecond' %}
      + cast(date_format({{ b }}, 'SSS') as int) - cast(date_format({{ a }}, 'SSS') as int)
    {%- endif -%}
  {%- else -%}
    {{ exceptions.raise_compiler_error("datediff on Spark does not know the datepart " ~ datepart) }}
  {%- endif -%}
{%- endmacro %}

{% macro spark__escape_single_quotes(expression) -%}
  {{ expression | replace("'", "\\'") }}
{%- endmacro %}

{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
  {%- if order_by_clause -%}{%- do exceptions.warn('listagg on Spark ignores order_by_clause') -%}{%- endif -%}
  {%- set collected = 'collect_list(' ~ measure ~ ')' -%}
  {%- if limit_num -%}{%- set collected = 'slice(' ~ collected ~ ', 1, ' ~ limit_num ~ ')' -%}{%- endif -%}
  array_join({{ collected }}, {{ delimiter_text }})
{%- endmacro %}

{% macro spark__safe_cast(field, type) -%}
  cast({{ field }} as {{ type }})
{%- endmacro %}

{% macro spark__split_part(string_text, delimiter_text, part_number) -%}
  {#- split() takes a regular expression: a delimiter that starts with a special character is escaped -#}
  {%- set delimiter -%}
    case when regexp_extract({{ delimiter_text }}, '([^A-Za-z0-9])(.*)', 1) != '_'
      then concat('\\', {{ delimiter_text }}) else {{ delimiter_text }} end
  {%- endset -%}
  {%- if part_number >= 0 -%}
    split({{ string_text }}, {{ delimiter }})[({{ part_number - 1 if part_number > 0 else part_number }})]
  {%- else -%}
    split({{ string_text }}, {{ delimiter }})[(length({{ string_text }})
      - length(replace({{ string_text }}, {{ delimiter_text }}, '')) + 1 + {{ part_number }})]
  {%- endif -%}
{%- endmacro %}

{% macro spark__current_timestamp() -%}
  current_timestamp()
{%- endmacro %}

{% macro spark__get_columns_in_relation(relation) -%}
  {%- call statement('get_columns_in_relation', fetch_result=True) -%}
    describe table {{ relation }}
  {%- endcall -%}
  {%- set columns = [] -%}
  {%- for row in load_result('get_columns_in_relation').table -%}
    {%- if not row[0] or row[0].startswith('#') -%}{%- break -%}{%- endif -%}
    {%- do columns.append(api.Column(row[0], row[1])) -%}
  {%- endfor -%}
  {{ return(columns) }}
{%- endmacro %}
