{#- One check per reference from a row to another entity. A row whose reference is NULL is
    not checked here (the staging not_null tests cover required references). -#}
{%- set checks = [
    {'source': 'partner_users', 'key': 'user_id', 'column': 'partner_id',
        'target': 'partners', 'target_key': 'partner_id', 'noun': 'firm'},
    {'source': 'deals', 'key': 'deal_id', 'column': 'partner_id',
        'target': 'partners', 'target_key': 'partner_id', 'noun': 'firm'},
    {'source': 'deals', 'key': 'deal_id', 'column': 'owner_user_id',
        'target': 'partner_users', 'target_key': 'user_id', 'noun': 'person'},
    {'source': 'deal_status_events', 'key': 'event_id', 'column': 'deal_id',
        'target': 'deals', 'target_key': 'deal_id', 'noun': 'deal'},
    {'source': 'logins', 'key': 'event_id', 'column': 'user_id',
        'target': 'partner_users', 'target_key': 'user_id', 'noun': 'person'},
    {'source': 'content_views', 'key': 'event_id', 'column': 'user_id',
        'target': 'partner_users', 'target_key': 'user_id', 'noun': 'person'},
    {'source': 'content_views', 'key': 'event_id', 'column': 'content_id',
        'target': 'contents', 'target_key': 'content_id', 'noun': 'content'},
    {'source': 'lesson_completions', 'key': 'event_id', 'column': 'user_id',
        'target': 'partner_users', 'target_key': 'user_id', 'noun': 'person'},
    {'source': 'lesson_completions', 'key': 'event_id', 'column': 'course_id',
        'target': 'courses', 'target_key': 'course_id', 'noun': 'course'},
    {'source': 'quiz_attempts', 'key': 'attempt_id', 'column': 'user_id',
        'target': 'partner_users', 'target_key': 'user_id', 'noun': 'person'},
    {'source': 'quiz_attempts', 'key': 'attempt_id', 'column': 'quiz_id',
        'target': 'quizzes', 'target_key': 'quiz_id', 'noun': 'quiz'},
] -%}
{%- set tables = [
    'partners', 'partner_users', 'deals', 'deal_status_events', 'logins',
    'content_views', 'contents', 'courses', 'lesson_completions', 'quizzes', 'quiz_attempts',
] -%}

with

{% for table in tables -%}
{{ table }} as (
    select * from {{ ref('stg_portal__' ~ table) }}
),

{% endfor -%}

{% for check in checks -%}
{{ check.source }}__{{ check.column }} as (
    select
        '{{ check.source }}' as source_name,
        referring._file_name as file_name,
        referring._line_number as line_number,
        referring.{{ check.key }} as record_key,
        {{ dbt.concat([
            "'" ~ check.column ~ " '",
            "referring." ~ check.column,
            "' is not a known " ~ check.noun ~ "'",
        ]) }} as reason
    from {{ check.source }} as referring
    left join {{ check.target }} as referenced
        on referring.{{ check.column }} = referenced.{{ check.target_key }}
    where
        referring.{{ check.column }} is not null
        and referenced.{{ check.target_key }} is null
),

{% endfor -%}

final as (
    {%- for check in checks %}
    select * from {{ check.source }}__{{ check.column }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select * from final
