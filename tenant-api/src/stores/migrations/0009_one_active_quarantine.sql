-- One active quarantine per namespace. quarantine_namespace looked for an
-- active one and inserted when there was none; on PostgreSQL two concurrent
-- orders could both find none and both insert. The index makes the insert
-- itself the check (INSERT ... ON CONFLICT DO NOTHING).
--
-- Duplicates such a race left behind are released first, keeping the oldest
-- (the one list and release already treated as the namespace's quarantine);
-- the namespace stays quarantined.
UPDATE quarantines q
   SET active = false, released_at = now(), released_by = 'migration 0009',
       release_reason = 'duplicate of an earlier active quarantine of the same namespace'
 WHERE q.active
   AND EXISTS (
     SELECT 1 FROM quarantines o
      WHERE o.tenant_id = q.tenant_id AND o.namespace = q.namespace AND o.active
        AND (o.created_at, o.id) < (q.created_at, q.id)
   );

CREATE UNIQUE INDEX quarantines_one_active ON quarantines (tenant_id, namespace) WHERE active;
