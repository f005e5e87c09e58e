namespace Referrals.Tests.Support;

/// <summary>Counts the bytes a piece of code allocates on the calling thread.</summary>
internal static class Allocations
{
    /// <summary>
    /// Runs <paramref name="run"/> up to <paramref name="attempts"/> times and returns the fewest bytes one run allocated
    /// (stopping at the first run that allocates nothing). The runtime may allocate once on the thread while it
    /// re-compiles a hot loop (tiering, on-stack replacement); an allocation of the code under test shows in every run.
    /// </summary>
    public static long Fewest(Action run, int attempts = 5)
    {
        long fewest = long.MaxValue;
        for (int i = 0; i < attempts && fewest != 0; i++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            run();
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return fewest;
    }
}
