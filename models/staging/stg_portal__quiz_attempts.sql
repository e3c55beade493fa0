with

source as (
    select * from {{ source('portal', 'quiz_attempts') }}
),

deduplicated as (
    {{ prm_warehouse.latest_delivered_rows('source', 'attempt_id') }}
),

final as (
    select
        attempt_id,
        user_id,
        quiz_id,
        submitted_at,
        {{ prm_warehouse.jst_date('submitted_at') }} as submitted_on,
        score,
        _file_name,
        _line_number
    from deduplicated
)

select * from final
