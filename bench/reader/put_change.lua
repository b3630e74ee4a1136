-- wrk script: PUT an answer whose confidence changes with every request (each is "changed":
-- one committed transaction, fsynced, with its event-log row).
local n = 0
request = function()
  n = n + 1
  local body = string.format('{"call": "synthetic", "confidence": %d}', n % 5 + 1)
  return wrk.format("PUT", nil, {["Content-Type"] = "application/json",
                                 ["Authorization"] = "Bearer " .. os.getenv("TOKEN")}, body)
end
