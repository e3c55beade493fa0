{#- Stops the build when a deal status label has no row in the seed deal_status_stage_map
    valid on the Japan-time date it was recorded (the rule of int_deal_status_events_mapped:
    valid_from <= changed_on < valid_to, an empty valid_to still valid). `status_events` is
    int_deal_status_events_unioned (source_name, file_name, status_label, changed_on).
    The check runs when the calling model executes, after its parents are built, and
    raises an error that names every unknown label with its dates and files; dbt then skips
    every model downstream, the marts included. It reads the parents directly rather than
    a mapped table, so that a failing data test on a mapped table cannot skip the check and
    hide the message. Nothing is checked at parse time or while a parent does not exist yet
    (`dbt compile` on an empty warehouse). -#}
{% macro assert_deal_status_labels_mapped(status_events) -%}
    {%- set stage_map = ref('deal_status_stage_map') -%}
    {%- if execute
        and load_relation(status_events) is not none
        and load_relation(stage_map) is not none -%}
        {%- set unmapped_query -%}
            select
                events.status_label,
                events.source_name,
                coalesce(events.file_name, '') as file_name,
                cast(min(events.changed_on) as {{ dbt.type_string() }}) as first_on,
                cast(max(events.changed_on) as {{ dbt.type_string() }}) as last_on,
                count(*) as event_count
            from {{ status_events }} as events
            left join {{ stage_map }} as stage_map
                on
                    events.status_label = stage_map.status_label
                    and events.changed_on >= stage_map.valid_from
                    and (stage_map.valid_to is null or events.changed_on < stage_map.valid_to)
            where stage_map.status_label is null
            group by
                events.status_label,
                events.source_name,
                coalesce(events.file_name, '')
            order by 1, 2, 3
        {%- endset -%}
        {%- set unmapped = run_query(unmapped_query) -%}
        {%- if unmapped.rows | length > 0 -%}
            {%- set lines = [] -%}
            {%- for row in unmapped.rows -%}
                {%- if row['source_name'] == 'deals' -%}
                    {%- set origin = "the deals snapshot, file " ~ row['file_name'] -%}
                {%- else -%}
                    {%- set origin = row['source_name'] ~ " file " ~ row['file_name'] -%}
                {%- endif -%}
                {%- do lines.append(
                    "  - label '" ~ row['status_label'] ~ "' in " ~ origin ~ ": "
                    ~ row['event_count'] ~ " event(s) dated " ~ row['first_on']
                    ~ " to " ~ row['last_on']
                ) -%}
            {%- endfor -%}
            {{ exceptions.raise_compiler_error(
                "Unknown deal status label(s): the seed deal_status_stage_map has no row "
                ~ "valid on the date of these events, so no funnel stage can be assigned.\n"
                ~ (lines | join("\n"))
                ~ "\nAdd a row for each label to seeds/deal_status_stage_map.csv "
                ~ "(with its valid_from) and rebuild."
            ) }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
