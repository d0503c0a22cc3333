-- Unit tests of gateway/envoy/error-body.lua under LuaJIT, with a small
-- stand-in for Envoy's stream handle (headers and buffered body).
-- Run: luajit test/gateway/lua/error-body_test.lua  (from the repository root)
local M = dofile("gateway/envoy/error-body.lua")

local failures, passed = 0, 0
local function test(name, fn)
  local ok, err = pcall(fn)
  if ok then
    passed = passed + 1
  else
    failures = failures + 1
    io.stderr:write("FAIL " .. name .. ": " .. tostring(err) .. "\n")
  end
end
local function eq(actual, expected, what)
  if actual ~= expected then
    error((what or "value") .. ": expected " .. tostring(expected) .. ", got " .. tostring(actual), 2)
  end
end

-- The stand-in: what the filter uses of Envoy's handle API.
local function fake_handle(headers, body_text)
  local h = { values = {}, body_reads = 0 }
  for k, v in pairs(headers) do h.values[k] = v end
  local header_map = {
    get = function(_, k) return h.values[k] end,
    replace = function(_, k, v) h.values[k] = v end,
    remove = function(_, k) h.values[k] = nil end,
  }
  local buffer = {
    length = function() return #body_text end,
    getBytes = function(_, start, len) return body_text:sub(start + 1, start + len) end,
    setBytes = function(_, s) body_text = s end,
  }
  function h:headers() return header_map end
  function h:body()
    h.body_reads = h.body_reads + 1
    return buffer
  end
  function h:text() return body_text end
  return h
end

local DETAIL = '"@type":"type.googleapis.com/payments.v1.ErrorDetail"'

test("rewrites a Status with an ErrorDetail into the error body with the mapped status", function()
  local h = fake_handle({ [":status"] = "404", ["content-type"] = "application/json", ["request-id"] = "req_h" },
    '{"code":5,"message":"No such charge","details":[{' .. DETAIL .. ',"type":"invalid_request_error","code":"resource_missing","message":"No such charge: \'ch_1\'","param":"id","request_id":"req_core"}]}')
  envoy_on_response(h)
  eq(h.values[":status"], "404", "status")
  eq(h:text(), '{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such charge: \'ch_1\'","param":"id","request_id":"req_core"}}', "body")
  eq(h.values["content-length"], tostring(#h:text()), "content-length")
  eq(h.values["content-type"], "application/json", "content-type")
end)

test("makes a card_error 402 whatever the gRPC code", function()
  local h = fake_handle({ [":status"] = "400", ["content-type"] = "application/json" },
    '{"code":9,"message":"declined","details":[{' .. DETAIL .. ',"type":"card_error","code":"card_declined","message":"Your card was declined.","decline_code":"insufficient_funds","request_id":"req_1"}]}')
  envoy_on_response(h)
  eq(h.values[":status"], "402", "status")
  eq(h:text(), '{"error":{"type":"card_error","code":"card_declined","message":"Your card was declined.","decline_code":"insufficient_funds","request_id":"req_1"}}')
end)

test("gives a Status without details an api_error with the response's request id", function()
  local h = fake_handle({ [":status"] = "503", ["content-type"] = "application/json", ["request-id"] = "req_hdr" },
    '{"code":14,"message":"upstream connect error","details":[]}')
  envoy_on_response(h)
  eq(h.values[":status"], "503")
  eq(h:text(), '{"error":{"type":"api_error","code":"service_unavailable","message":"The service is temporarily unavailable. Retry later.","request_id":"req_hdr"}}')
end)

test("leaves a body already in the error format alone (local replies)", function()
  local body = '{"error":{"type":"invalid_request_error","code":"route_not_found","message":"x","request_id":"r"}}'
  local h = fake_handle({ [":status"] = "404", ["content-type"] = "application/json" }, body)
  envoy_on_response(h)
  eq(h:text(), body)
  eq(h.values[":status"], "404")
end)

test("never reads the body of successful responses or streams", function()
  local ok = fake_handle({ [":status"] = "200", ["content-type"] = "application/json" }, '{"id":"pi_1"}')
  envoy_on_response(ok)
  eq(ok.body_reads, 0, "body reads (200)")
  local sse = fake_handle({ [":status"] = "200", ["content-type"] = "text/event-stream" }, "data: {}\n\n")
  envoy_on_response(sse)
  eq(sse.body_reads, 0, "body reads (stream)")
  local html = fake_handle({ [":status"] = "404", ["content-type"] = "text/html" }, "<p>")
  envoy_on_response(html)
  eq(html.body_reads, 0, "body reads (html)")
end)

test("leaves non-JSON and non-Status error bodies alone", function()
  for _, body in ipairs({ "not json", '{"message":"x"}', "[1,2]", '{"code":"5"}' }) do
    local h = fake_handle({ [":status"] = "500", ["content-type"] = "application/json" }, body)
    envoy_on_response(h)
    eq(h:text(), body, body)
    eq(h.values[":status"], "500", body)
  end
end)

test("decodes JSON escapes and re-encodes them as JSON.stringify does", function()
  local v = M.decode('{"a":"q\\"b\\\\s\\/n\\n t\\t e\\u00e9 s\\ud83d\\ude00 c\\u0001","n":-1.5e2,"t":true,"f":false,"z":null,"l":[1,[2],{}]}')
  eq(v.a, 'q"b\\s/n\n t\t e\195\169 s\240\159\152\128 c\1', "string")
  eq(v.n, -150, "number")
  eq(v.t, true)
  eq(v.f, false)
  eq(v.z, nil)
  eq(#v.l, 3)
  eq(M.encode_string(v.a), '"q\\"b\\\\s/n\\n t\\t e\195\169 s\240\159\152\128 c\\u0001"', "encoded")
  eq(pcall(M.decode, '{"a":1'), false, "truncated")
  eq(pcall(M.decode, '{"a":1} x'), false, "trailing")
end)

test("maps every gRPC code like gateway/errors.ts", function()
  local expected = { [0] = 200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401 }
  for code = 0, 16 do eq(M.http_status(code, "api_error"), expected[code], "code " .. code) end
  eq(M.http_status(99, "api_error"), 500, "unknown code")
end)

print(string.format("lua: %d passed, %d failed", passed, failures))
os.exit(failures == 0 and 0 or 1)
