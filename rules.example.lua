-- rules.example.lua: a starting point for your own rules file.
--
-- geoalarm-engine --rules FILE runs this chunk once, in a sandbox (string,
-- table, math, utf8, os.time, os.date; no files, processes or network), and
-- uses the table it returns.  Check a file before you deploy it:
--
--     geoalarm check rules.lua
--
-- Reload a running engine with SIGHUP (or PUBLISH geoalarm:control reload):
-- a file that fails to load or to run its rules on a sample position is
-- refused and the previous rules stay live.

-- Locals defined here are visible to every rule below.  Globals cannot be
-- changed once the file has loaded; keep per-device memory in dev.state.
local HOUR = 3600

-- A shared rule: low external power, at most once an hour while it lasts.
-- The hourly timer is forgotten once power is back, so the next drop
-- alerts at once.  Thresholds come from the device's settings.
local function low_power(pos, dev)
  local volts = pos.power                -- external volts; absent on some reports
  if volts == nil then
    return nil
  end
  local limit = dev.settings.low_power_volts
  if volts >= limit + 0.5 then           -- recovered (with 0.5 V of margin)
    forget(dev, "low")
    return nil
  end
  if volts < limit and every(dev, pos, "low", HOUR) then
    return { type = "low_power", volts = volts,
             message = string.format("external power %.1f V (below %.1f V)", volts, limit) }
  end
end

return {
  -- Settings of every device unless its own entry below says otherwise.
  defaults = {
    speed_limit = 100,          -- km/h; a fence's own speed_limit wins inside it
    overspeed_duration = 30,    -- seconds above the limit before alerting
    overspeed_hysteresis = 5,   -- the episode ends at or below limit - 5
    overspeed_end = false,      -- also alert when an overspeed episode ends
    cooldown = 300,             -- the same alert at most every 5 minutes
    fences = "*",               -- fence alerts for every fence
    -- Your own settings are fine too; rules read them as dev.settings.x.
    low_power_volts = 11.5,
  },

  devices = {
    -- A delivery van: lower limit, and only the depot fence matters.
    ["359710049095095"] = {
      speed_limit = 80,
      fences = { "depot" },
      overspeed_end = true,
      work_zone = "north",      -- read by its own rule below
      rules = {
        -- Replaces the shared low_power rule for this device only: it has
        -- a 24 V system, so alert below 23 V, and every 15 minutes.
        low_power = function(pos, dev)
          if pos.power ~= nil and pos.power < 23 and every(dev, pos, "low", 900) then
            return { type = "low_power", message = "24 V system below 23 V" }
          end
        end,
        -- Outside its zone during working hours (Mon-Fri 07:00-19:00,
        -- UTC-7): once per episode, re-armed when it is back inside.
        outside_zone = function(pos, dev)
          local working = within_hours(pos.time, "mon-fri", "07:00", "19:00", -7)
          local inside = false
          for _, id in ipairs(pos.inside) do
            if id == dev.settings.work_zone then inside = true end
          end
          if latch(dev, "out", working and not inside, inside) then
            return { type = "outside_zone", zone = dev.settings.work_zone,
                     message = "outside zone " .. dev.settings.work_zone .. " during working hours" }
          end
        end,
      },
    },

    -- A generator trailer: no speed limit, no low-power rule at all.
    ["027028241337"] = {
      speed_limit = false,      -- false removes the default limit
      fence_dwell = 60,         -- a crossing counts after 60 s on the new side
      rules = { low_power = false },
    },
  },

  -- Custom rules for every device (a device's own rules replace these by
  -- name).  They run after the built-in rules, in name order.  Each gets
  -- pos (the report: numbers as numbers, pos.time in seconds, pos.inside /
  -- pos.entered / pos.exited fence ids) and dev (dev.id, dev.settings,
  -- dev.state, dev.command) and returns nil, an alert table { type = ...,
  -- message = ..., other fields } or a list of alerts.
  rules = {
    low_power = low_power,

    -- Idling: ignition on and standing still for 10 minutes.  Reports a
    -- started event once, and an ended event when the vehicle moves off or
    -- the ignition goes off (with how long it idled).
    idling = function(pos, dev)
      local idle = pos.ignition == 1 and (pos.speed or 0) < 3
      local long_enough, seconds = held(dev, pos, "idle", idle, 600)
      local change = edge(dev, "idle", long_enough)
      if change == "start" then
        dev.state.idle_since = pos.time - seconds
        return { type = "idle_start", message = "idling for 10 minutes" }
      elseif change == "end" then
        local since = dev.state.idle_since or pos.time
        dev.state.idle_since = nil
        return { type = "idle_end", idled = pos.time - since,
                 message = string.format("idled %d minutes", (pos.time - since) // 60) }
      end
    end,

    -- Stop the engine remotely when a device reports tampering at night
    -- (an example of dev.command; the downlink goes out through ingest).
    tamper_stop = function(pos, dev)
      if pos.alarm ~= nil and string.find(pos.alarm, "tampering", 1, true)
         and within_hours(pos.time, "*", "22:00", "06:00", -7) then
        dev.command("engine_stop")
        return { type = "tamper_stop", message = "tampering at night: engine stop sent" }
      end
    end,
  },
}
