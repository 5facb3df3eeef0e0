/**
 * One consume() as one Lua script: Redis runs a script without interleaving other commands, so
 * checking every rule and recording the hit in each is atomic across all instances, in a single
 * round trip. The steps mirror rule-evaluation.ts line for line; keep them in step.
 *
 * KEYS: one per rule. ARGV[1]: now (ms, from the app's clock, not Redis TIME, so tests control
 * time). ARGV[2]: a member unique to this call, for window hits. Then four ARGV per rule:
 *   window:   'window',   limit,        windowMs,  ''
 *   distinct: 'distinct', limit,        windowMs,  member
 *   cooldown: 'cooldown', resetAfterMs, 'a,b,c' (stepsMs), ''
 * Windows and distinct counters are sorted sets scored by hit time (a distinct member's score is
 * its last sighting); a cooldown is a hash { step, last }.
 *
 * Reply: { index of the first refusing rule or 0, its retry-after ms,
 *          then remaining and resetMs for each rule }.
 */
export const CONSUME_SCRIPT = `
local now = tonumber(ARGV[1])
local hitMember = ARGV[2]

local function arg(rule, position)
  return ARGV[2 + (rule - 1) * 4 + position]
end

local function steps(rule)
  local parsed = {}
  for step in string.gmatch(arg(rule, 3), '[^,]+') do parsed[#parsed + 1] = tonumber(step) end
  return parsed
end

-- The sequence is forgotten after resetAfterMs without an accepted hit.
local function cooldownState(rule)
  local stored = redis.call('HMGET', KEYS[rule], 'step', 'last')
  local step = tonumber(stored[1]) or 0
  local last = tonumber(stored[2]) or 0
  if step > 0 and now - last >= tonumber(arg(rule, 2)) then return 0, 0 end
  return step, last
end

local function cooldownWait(rule)
  local step, last = cooldownState(rule)
  if step == 0 then return 0, 0 end
  local delays = steps(rule)
  return math.max(0, last + delays[math.min(step, #delays)] - now), step
end

-- A hit at t counts while now < t + windowMs.
local function prune(rule)
  redis.call('ZREMRANGEBYSCORE', KEYS[rule], '-inf', now - tonumber(arg(rule, 3)))
end

-- The ms until the slot-th oldest counted hit (0-based) leaves the window.
local function leaves(rule, slot)
  local hit = redis.call('ZRANGE', KEYS[rule], slot, slot, 'WITHSCORES')
  return tonumber(hit[2]) + tonumber(arg(rule, 3)) - now
end

local function refusal(rule)
  local kind = arg(rule, 1)
  if kind == 'cooldown' then return (cooldownWait(rule)) end
  prune(rule)
  if kind == 'distinct' and redis.call('ZSCORE', KEYS[rule], arg(rule, 4)) then return 0 end
  local limit = tonumber(arg(rule, 2))
  local count = redis.call('ZCARD', KEYS[rule])
  if count < limit then return 0 end
  return leaves(rule, count - limit)
end

local function record(rule)
  local kind = arg(rule, 1)
  local key = KEYS[rule]
  if kind == 'cooldown' then
    local step = cooldownState(rule)
    redis.call('HSET', key, 'step', step + 1, 'last', now)
    redis.call('PEXPIRE', key, arg(rule, 2))
    return
  end
  if kind == 'distinct' then
    local member = arg(rule, 4)
    local seen = tonumber(redis.call('ZSCORE', key, member))
    -- A sighting from an instance whose clock runs ahead is kept rather than moved back.
    if not seen or seen < now then redis.call('ZADD', key, now, member) end
  else
    redis.call('ZADD', key, now, hitMember)
  end
  redis.call('PEXPIRE', key, arg(rule, 3))
end

local function describe(rule)
  if arg(rule, 1) == 'cooldown' then
    local wait = cooldownWait(rule)
    if wait > 0 then return 0, wait end
    return 1, 0
  end
  local limit = tonumber(arg(rule, 2))
  local count = redis.call('ZCARD', KEYS[rule])
  if count == 0 then return limit, 0 end
  return math.max(0, limit - count), leaves(rule, math.max(0, count - limit))
end

local rejectedRule, retryAfter = 0, 0
for rule = 1, #KEYS do
  local wait = refusal(rule)
  if wait > 0 and rejectedRule == 0 then rejectedRule, retryAfter = rule, wait end
end
if rejectedRule == 0 then
  for rule = 1, #KEYS do record(rule) end
end
local reply = { rejectedRule, retryAfter }
for rule = 1, #KEYS do
  local remaining, resetMs = describe(rule)
  reply[#reply + 1] = remaining
  reply[#reply + 1] = resetMs
end
return reply
`;
