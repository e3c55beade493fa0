-- Every status label seen in the deal status history or the deals snapshot (as of the
-- as-of date) is covered by a row of deal_status_stage_map valid on the event's
-- Japan-time date.
-- A failing row is an event whose label the mapping does not know on that date (a new
-- label, or a validity that starts too late or ends too early): the build of the funnel
-- stops on it. Add a mapping row from the date the label appeared.
with

mapped_events as (
    select * from {{ ref('int_deal_status_events_mapped') }}
),

final as (
    select
        status_label,
        min(changed_on) as first_uncovered_on,
        max(changed_on) as last_uncovered_on,
        count(*) as event_count
    from mapped_events
    where not is_label_mapped
    group by status_label
)

select * from final
