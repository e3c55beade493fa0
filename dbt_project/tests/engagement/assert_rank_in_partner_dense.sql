-- Fails with every firm whose rank_in_partner is not a dense rank from 1: the lowest rank
-- must be 1 and the highest must equal the number of distinct scores at the firm. A failure
-- means ranks skip numbers (rank instead of dense_rank) or ignore the firm.
select
    partner_id,
    min(rank_in_partner) as lowest_rank,
    max(rank_in_partner) as highest_rank,
    count(distinct engagement_score) as distinct_scores
from {{ ref('fct_key_person_engagement') }}
group by partner_id
having
    min(rank_in_partner) <> 1
    or max(rank_in_partner) <> count(distinct engagement_score)
