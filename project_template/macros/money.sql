{% macro cents_to_dollars(column) -%}
    round({{ column }} / 100.0, 2)
{%- endmacro %}

{% macro safe_divide(numerator, denominator) -%}
    case when {{ denominator }} = 0 then null else {{ numerator }} / {{ denominator }} end
{%- endmacro %}
