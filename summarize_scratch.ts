import pl from "nodejs-polars";
import { groupStats, formatMeanStd } from "./lib/analysis/mod.ts";
const which = Deno.args[0];
const rows = pl.readCSV(Deno.args[1]).toRecords() as Record<string, number | string>[];
if (which === "taid") {
  const g = groupStats(rows, "method", ["val_ce", "kl_to_teacher", "head_mass", "tail_mass"]);
  console.log("| method | val CE | KL to teacher | head | tail |\n|---|---|---|---|---|");
  for (const s of g) console.log(`| ${s.method} | ${formatMeanStd(s.val_ce_mean as number, s.val_ce_std as number)} | ${formatMeanStd(s.kl_to_teacher_mean as number, s.kl_to_teacher_std as number)} | ${(s.head_mass_mean as number).toFixed(3)} | ${(s.tail_mass_mean as number).toExponential(2)} |`);
} else {
  for (const key of ["fashion-mnist/full", "fashion-mnist/fewshot", "mnist/full"]) {
    const [d, st] = key.split("/");
    const g = groupStats(rows.filter((r) => r.dataset === d && r.setting === st), "method", ["test_acc", "ece", "agreement"]);
    console.log(`\n**${key}**\n\n| method | test acc | ECE | agreement |\n|---|---|---|---|`);
    for (const s of g) console.log(`| ${s.method} | ${formatMeanStd(s.test_acc_mean as number, s.test_acc_std as number, 4)} | ${formatMeanStd(s.ece_mean as number, s.ece_std as number, 4)} | ${formatMeanStd(s.agreement_mean as number, s.agreement_std as number, 4)} |`);
  }
}
