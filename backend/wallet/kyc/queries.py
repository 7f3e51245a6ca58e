"""Hand-written SQL of KYC: the operators' review queue, which joins a review with its
user and the profile on the profile's user id (no foreign key between the two for
Piccolo to join on). Everything else in KYC queries through Piccolo."""

# Reviews waiting for an operator, oldest first; $1 is how many.
REVIEW_QUEUE = (
    "SELECT r.*, u.username, u.verification_level, p.legal_name AS p_name, "
    "p.date_of_birth AS p_dob, p.address AS p_address, p.country AS p_country, "
    "p.document_type AS p_document_type, p.document_number AS p_document_number "
    "FROM kyc_review r JOIN app_user u ON u.id = r.user_id "
    "JOIN kyc_profile p ON p.user_id = r.user_id "
    "WHERE r.status = 'pending' ORDER BY r.created_at, r.id LIMIT $1"
)
