using System.CommandLine;
using Referrals.Rewards;
using Referrals.Services;

namespace Referrals.Cli.Commands;

/// <summary><c>referrals review list|approve|reject</c>, <c>referrals rewards process</c> and <c>referrals forget</c>.</summary>
internal static class ReviewCommands
{
    public static Command BuildReview(CliApp app)
    {
        var review = new Command("review", "The review queue: referrals the fraud checks held for a person to decide.");
        app.Example(review, "referrals review list --program customers", "referrals review approve web-1001 --program customers --reason \"customer called, genuine\"");

        var program = CliOptions.Program();
        var list = new Command("list", "Lists the referrals held for review, oldest first, with the fraud signals that held them.") { program };
        app.Example(list, "referrals review list --program customers", "referrals review list -p customers --json");
        app.Action(list, async (r, ct) =>
        {
            await using var host = await app.StartAsync(r, ct);
            var programId = host.Program(r.GetRequiredValue(program));
            var items = await host.Get<ReviewQueue>().ListAsync(programId, ct);
            if (r.GetValue(app.Json))
            {
                CliOptions.WriteJson(app.Console, items.Select(i => new
                {
                    orderId = i.OrderId,
                    customer = i.Customer.Value,
                    referrer = i.Referrer.Value,
                    amount = i.Amount.ToString(),
                    conversionTime = i.ConversionTime.ToString(),
                    heldSince = i.HeldSince.ToString(),
                    verdict = i.Assessment?.Verdict.ToString(),
                    score = i.Assessment?.Score,
                    rewards = i.Rewards.Select(w => new { id = w.Id, beneficiary = w.Beneficiary.Value, earned = w.Earned.ToString(), status = w.Status.ToString() }),
                    explanation = i.Explain(),
                }));
                return ExitCodes.Ok;
            }
            if (items.Count == 0)
            {
                app.Console.Out.WriteLine($"Nothing held for review in program {programId.Value}.");
                return ExitCodes.Ok;
            }
            app.Console.Out.WriteLine($"{items.Count} referral(s) held for review in program {programId.Value}, oldest first:");
            foreach (var item in items)
            {
                app.Console.Out.WriteLine();
                app.Console.Out.WriteLine(item.Explain());
            }
            return ExitCodes.Ok;
        });
        review.Add(list);
        review.Add(Decide(app, "approve", "Approves a held referral: its rewards continue as pending, approved when their hold ends.", (q, p, o, a, w, t) => q.ApproveAsync(p, o, a, w, t)));
        review.Add(Decide(app, "reject", "Rejects a held referral: its rewards are never paid.", (q, p, o, a, w, t) => q.RejectAsync(p, o, a, w, t)));
        return review;
    }

    private static Command Decide(CliApp app, string name, string description, Func<ReviewQueue, ProgramId, string, string, string, CancellationToken, ValueTask<IReadOnlyList<Reward>>> decide)
    {
        var order = new Argument<string>("order-id") { Description = "The order under review (as 'review list' shows it)." };
        var program = CliOptions.Program();
        var actor = CliOptions.Actor();
        var reason = CliOptions.Reason();
        var command = new Command(name, description + " Exit code 1 when nothing of the order is under review.") { order, program, actor, reason };
        app.Example(command, $"referrals review {name} web-1001 --program customers --reason \"checked with the store\"");
        app.Action(command, async (r, ct) =>
        {
            await using var host = await app.StartAsync(r, ct);
            var programId = host.Program(r.GetRequiredValue(program));
            string orderId = r.GetRequiredValue(order);
            var rewards = await decide(host.Get<ReviewQueue>(), programId, orderId, CliOptions.ActorOrUser(r.GetValue(actor)), r.GetRequiredValue(reason), ct);
            if (r.GetValue(app.Json))
            {
                CliOptions.WriteJson(app.Console, new { orderId, decision = name, rewards = rewards.Select(w => new { id = w.Id, beneficiary = w.Beneficiary.Value, earned = w.Earned.ToString(), status = w.Status.ToString() }) });
            }
            if (rewards.Count == 0)
            {
                throw CliException.Refused($"Nothing of order {Text.Echo(orderId)} is under review in program {programId.Value}; 'referrals review list --program {programId.Value}' shows what is.");
            }
            if (!r.GetValue(app.Json))
            {
                string verb = name == "approve" ? "Approved" : "Rejected";
                app.Console.Out.WriteLine($"{verb} order {orderId}: {string.Join(", ", rewards.Select(w => $"{w.Beneficiary.Value} {w.Earned} ({w.Status})"))}");
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command BuildRewards(CliApp app)
    {
        var rewards = new Command("rewards", "The reward lifecycle.");
        var process = new Command("process", "Runs the reward pass once, for a scheduler (cron, systemd timer): approves the rewards whose hold ended, hands approved ones to the fulfiller, retries notifications. Exit code 1 when some failed.");
        app.Example(rewards, "referrals rewards process");
        app.Example(process, "referrals rewards process --json");
        rewards.Add(process);
        app.Action(process, async (r, ct) =>
        {
            await using var host = await app.StartAsync(r, ct);
            var result = await host.Get<RewardService>().ProcessDueAsync(ct);
            if (r.GetValue(app.Json))
            {
                CliOptions.WriteJson(app.Console, new { approved = result.Approved, fulfilled = result.Fulfilled, failed = result.Failed, redelivered = result.Redelivered, undelivered = result.Undelivered, deadLettered = result.DeadLettered });
            }
            else
            {
                app.Console.Out.WriteLine($"Approved {CliApp.N(result.Approved)}, fulfilled {CliApp.N(result.Fulfilled)}, failed {CliApp.N(result.Failed)}; notifications redelivered {CliApp.N(result.Redelivered)}, undelivered {CliApp.N(result.Undelivered)}, dead-lettered {CliApp.N(result.DeadLettered)}.");
            }
            return result.Failed > 0 || result.DeadLettered > 0 ? ExitCodes.Refused : ExitCodes.Ok;
        });
        return rewards;
    }

    public static Command BuildForget(CliApp app)
    {
        var participant = new Argument<string>("participant") { Description = "The customer id whose personal data to erase." };
        var actor = CliOptions.Actor();
        var reason = CliOptions.Reason();
        var command = new Command("forget", "Erases a participant's personal data (contact hashes, fingerprints) from the store, audited; the ledger keeps the pseudonymous id.") { participant, actor, reason };
        app.Example(command, "referrals forget cust-1234 --reason \"GDPR request #5521\"");
        app.Action(command, async (r, ct) =>
        {
            string id = r.GetRequiredValue(participant);
            if (id.Trim().Length == 0 || id.Length > ParticipantId.MaxLength)
            {
                throw CliException.Usage($"{Text.Echo(id)}: a customer id has 1 to {ParticipantId.MaxLength} characters.");
            }
            await using var host = await app.StartAsync(r, ct);
            await host.Get<ParticipantService>().ForgetAsync(new ParticipantId(id), CliOptions.ActorOrUser(r.GetValue(actor)), r.GetRequiredValue(reason), ct);
            if (r.GetValue(app.Json))
            {
                CliOptions.WriteJson(app.Console, new { participant = id, forgotten = true });
            }
            else
            {
                app.Console.Out.WriteLine($"Erased the personal data of {Text.Echo(id)} (audited).");
            }
            return ExitCodes.Ok;
        });
        return command;
    }
}
