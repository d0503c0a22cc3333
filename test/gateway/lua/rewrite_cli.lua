-- Reads test cases from a file (one per line: request id, a tab, a
-- google.rpc.Status JSON) and prints "<http status>\t<body>" per case, so the
-- vitest suite can compare the Lua filter with gateway/errors.ts.
local M = dofile("gateway/envoy/error-body.lua")
for line in io.lines(arg[1]) do
  local request_id, status_json = line:match("^([^\t]*)\t(.*)$")
  local status, body = M.rewrite(status_json, request_id)
  io.write(tostring(status), "\t", tostring(body), "\n")
end
