DROP TABLE IF EXISTS dataset_load, app_user, incident_transition, incident, service_facility,
    party_member, party_org, resident, household, building, grid_staff, area, person CASCADE;
DROP FUNCTION IF EXISTS area_check_parent();
