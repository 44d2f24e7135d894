// Reads an app.arc with Architect's own reader (@architect/inventory) and prints what Architect
// sees as JSON: {"app", "events": [...], "queues": [...], "scheduled": [{name, rate|cron}]}.
// Usage: node inventory.cjs <dir holding app.arc> ; exits 1 with Architect's errors if it rejects the file.
const path = require('path')
const modules = process.env.EVENTFN_NODE_MODULES
const inventory = require(path.join(modules, '@architect', 'inventory'))

async function main () {
  const cwd = path.resolve(process.argv[2])
  let result
  try {
    result = await inventory({ cwd })
  }
  catch (err) {
    console.error(err.message || String(err))
    process.exit(1)
  }
  const inv = result.inv
  const out = {
    app: inv.app,
    events: (inv.events || []).map(e => e.name).sort(),
    queues: (inv.queues || []).map(q => q.name).sort(),
    scheduled: (inv.scheduled || []).map(s => ({
      name: s.name,
      rate: s.rate ? `rate(${s.rate.value} ${s.rate.interval})` : null,
      cron: s.cron ? `cron(${[s.cron.minutes, s.cron.hours, s.cron.dayOfMonth, s.cron.month, s.cron.dayOfWeek, s.cron.year].join(' ')})` : null,
    })),
  }
  console.log(JSON.stringify(out))
}
main()
