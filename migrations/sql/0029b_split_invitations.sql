-- Joining a bill-splitting group takes the invitee's consent (review finding 17).
-- Adding someone makes an invitation; they accept or decline it. Only members
-- (`split_group_member`: accepted invitations, group creators, and the members of
-- groups made before this rule) can be named in expenses or count in balances.
--
-- An invitation names a user (`contact` NULL: invited by @username) or a contact:
-- the email or phone the inviter typed (normalised), whether or not a wallet has it,
-- so the answer never tells the inviter who is registered. `user_id` is whoever has
-- that contact (set now, or when someone proves the contact is theirs).

CREATE TABLE split_invitation (
    id          bigserial PRIMARY KEY,
    group_id    bigint NOT NULL REFERENCES split_group (id),
    user_id     bigint REFERENCES app_user (id),
    contact     text,
    invited_by  bigint NOT NULL REFERENCES app_user (id),
    status      text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'accepted', 'declined')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    answered_at timestamptz,
    CHECK (user_id IS NOT NULL OR contact IS NOT NULL),
    CHECK (user_id IS NOT NULL OR status = 'pending'),
    CHECK ((status = 'pending') = (answered_at IS NULL))
);
-- One invitation per person per group: a declined one is not sent again.
CREATE UNIQUE INDEX split_invitation_user_key ON split_invitation (group_id, user_id)
    WHERE contact IS NULL;
CREATE UNIQUE INDEX split_invitation_contact_key ON split_invitation (group_id, contact)
    WHERE contact IS NOT NULL;
CREATE INDEX split_invitation_invitee_idx ON split_invitation (user_id)
    WHERE status = 'pending';
CREATE INDEX split_invitation_waiting_idx ON split_invitation (contact)
    WHERE user_id IS NULL;
