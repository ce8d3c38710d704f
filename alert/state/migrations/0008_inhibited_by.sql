-- Format 8: why an alert is held back. An inhibit rule holds a firing
-- alert's notices while its source alert fires (alert/notify, Alertmanager's
-- inhibit_rules); the run names that source here ("rule{labels}") so that
-- vigil alerts list can say why a firing alert was not sent. '' when the
-- alert's last run did not hold it: every run sets it anew, so it clears
-- once the alert is notified, resolves or stops firing.
ALTER TABLE alerts ADD COLUMN inhibited_by TEXT NOT NULL DEFAULT '';
