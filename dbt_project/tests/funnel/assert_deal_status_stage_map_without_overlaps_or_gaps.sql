-- Every label of the seed deal_status_stage_map has, from its first valid_from on, exactly
-- one row valid on any date: the rows of a label, ordered by valid_from, follow each other
-- without overlap or gap (each row's valid_to is the next row's valid_from), and only the
-- last row may be open-ended.
-- A failing row is a mapping row whose interval overlaps the next one or leaves a gap
-- before it: events on those dates would be counted twice or stop the build as unknown.
with

stage_map as (
    select * from {{ ref('deal_status_stage_map') }}
),

sequenced as (
    select
        status_label,
        stage,
        valid_from,
        valid_to,
        lead(valid_from) over (
            partition by status_label
            order by valid_from
        ) as next_valid_from
    from stage_map
),

final as (
    select * from sequenced
    where
        (valid_to is not null and valid_to <= valid_from)
        or (next_valid_from is not null and valid_to is null)
        or (next_valid_from is not null and valid_to <> next_valid_from)
)

select * from final
